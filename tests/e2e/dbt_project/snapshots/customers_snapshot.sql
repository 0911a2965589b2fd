{% snapshot customers_snapshot %}
{{ config(target_schema=target.schema, unique_key='customer_id', strategy='timestamp',
          updated_at='updated_at', file_format='delta') }}
select * from {{ ref('customers') }}
{% endsnapshot %}
