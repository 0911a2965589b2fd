{{ config(materialized='table', partition_by=['order_date'], file_format='delta') }}
select order_date, count(*) as orders, sum(amount) as revenue
from {{ ref('orders') }}
group by order_date
