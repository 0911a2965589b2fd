{{ config(materialized='incremental', incremental_strategy='merge', unique_key='order_id',
          file_format='delta') }}
select o.order_id, o.customer_id, c.name as customer_name, o.amount, o.status, o.order_date
from {{ ref('orders') }} o
join {{ ref('stg_customers') }} c on c.customer_id = o.customer_id
{% if is_incremental() %}
-- every row is offered again: the merge updates changed statuses and inserts new orders
where o.order_date >= (select min(order_date) from {{ this }})
{% endif %}
