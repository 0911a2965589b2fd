-- a singular test: rows returned are failures
select order_id, amount from {{ ref('orders_incremental') }} where amount < 0
