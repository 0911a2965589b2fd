-- a persisted view over a seed
select customer_id, name, country, updated_at
from {{ ref('customers') }}
