-- The SQL check characters (macro check_character_validity, read from the standards tables) on codes
-- worked by hand and published codes, valid and invalid (tests/test_outlets_enforcement.py shows
-- the sums). Rows returned are disagreements.
with

examples (scheme, code, expected) as (
    values
        ('gb32100', '91510100000000019B', true),   -- Σ = 392, 392 mod 31 = 20, 31 − 20 = 11 → B
        ('gb32100', '91510100123456780W', true),   -- Σ = 809, 809 mod 31 = 3, 31 − 3 = 28 → W
        ('gb32100', '91110000600037341L', true),
        ('gb32100', '91110108551385082Q', true),
        ('gb32100', '91350100M000100Y43', true),
        ('gb32100', '91510100000000019C', false),  -- wrong check character
        ('gb32100', '91510100000000091B', false),  -- two characters swapped
        ('gb32100', '91510100I00000019B', false),  -- I is not in the character set
        ('gb32100', '9151010000000019B', false),   -- 17 characters
        ('gb11714', '000000019', true),            -- Σ = 2, 11 − 2 = 9
        ('gb11714', '00000006X', true),            -- Σ = 12, 12 mod 11 = 1, 11 − 1 = 10 → X
        ('gb11714', '000000000', true),            -- Σ = 0, 11 → 0
        ('gb11714', '123456780', false),           -- Σ = 201, 201 mod 11 = 3, 11 − 3 = 8, not 0
        ('gb11714', 'M000100Y4', true)
),

gb32100 as (
    {{ check_character_validity('gb32100', "(select code from examples where scheme = 'gb32100')", 'code') }}
),

gb11714 as (
    {{ check_character_validity('gb11714', "(select code from examples where scheme = 'gb11714')", 'code') }}
)

select e.*, coalesce(a.is_valid, b.is_valid) as computed
from examples as e
left join gb32100 as a on e.scheme = 'gb32100' and a.code = e.code
left join gb11714 as b on e.scheme = 'gb11714' and b.code = e.code
where coalesce(a.is_valid, b.is_valid) is distinct from e.expected
