-- HJ 212 values as decoded (one long row per packet, pollutant and field), renamed; every receipt
-- is kept here (a packet resent after a reconnect is another row): the intermediate layer keeps
-- the latest receipt. data_time and received_at are China Standard Time.
with

source as (
    select * from {{ source('pollution_source', 'hj212_values') }}
),

renamed as (
    select
        -- the record: device, command, the interval it is for
        mn as outlet_mn,
        st as system_code,
        cn as command_code,
        data_time,
        -- the value
        pollutant_code,
        pollutant_code_sent,
        field,
        value,
        flag,
        -- the receipt
        received_at,
        {{ lineage_columns() }}
    from source
)

select * from renamed
