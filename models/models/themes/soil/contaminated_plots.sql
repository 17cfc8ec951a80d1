-- Farmland plots (the current delivery of each): class and pollutants as codes of the standards
-- tables, placed in their city and county.
select
    plot_code,
    plot_name,
    region_code,
    city_name,
    county_code,
    county_name,
    area_mu,
    risk_class,
    risk_class_zh,
    is_contaminated,
    pollutant_codes,
    len(pollutant_codes)::integer as pollutant_count,
    main_pollutants_zh,
    delivery_id,
    source_file,
    source_line
from {{ ref('int_soil__contaminated_plot_current') }}
