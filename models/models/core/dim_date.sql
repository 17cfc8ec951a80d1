-- The calendar (China Standard Time dates) from 2000 to 2040: one row per day, with the month,
-- quarter and year it belongs to, so that every theme's period_start joins the same way.
with

days as (
    select cast(d as date) as calendar_date
    from generate_series(date '2000-01-01', date '2040-12-31', interval 1 day) as t(d)
)

select
    calendar_date,
    cast(year(calendar_date) as integer) as year,
    cast(quarter(calendar_date) as integer) as quarter,
    cast(month(calendar_date) as integer) as month,
    cast(day(calendar_date) as integer) as day_of_month,
    cast(dayofyear(calendar_date) as integer) as day_of_year,
    cast(isodow(calendar_date) as integer) as iso_day_of_week,
    cast(weekofyear(calendar_date) as integer) as iso_week,
    isodow(calendar_date) >= 6 as is_weekend,
    cast(date_trunc('month', calendar_date) as date) as month_start,
    cast(date_trunc('quarter', calendar_date) as date) as quarter_start,
    cast(date_trunc('year', calendar_date) as date) as year_start,
    cast(day(last_day(calendar_date)) as integer) as days_in_month,
    cast(dayofyear(make_date(year(calendar_date), 12, 31)) as integer) as days_in_year
from days
