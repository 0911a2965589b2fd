"""Property-style cases per family, beyond Spark's documented examples.

Edges the documentation rarely shows: NULL arguments, empty arrays, negative numbers, leap
days, time zones, overflow, literals and intervals. regenerate.py runs each with Spark and
stores Spark's answer beside the documented ones in functions.jsonl.
"""

from __future__ import annotations

_CASES: dict[str, list[str]] = {
    "string": [
        "SELECT upper(NULL), lower(''), length(''), length(NULL)",
        "SELECT concat('a', NULL, 'b')",
        "SELECT concat_ws('-', 'a', NULL, 'b')",
        "SELECT substring('hello', -3, 2), substring('hello', 0, 2), substring('hello', 10)",
        "SELECT 'a\\tb', 'it\\'s', 'back\\\\slash', length('\\n')",
        "SELECT 'abc' LIKE 'a\\_c', 'a_c' LIKE 'a\\_c', 'a%c' LIKE 'a\\%c'",
        "SELECT 'abc' || NULL, 'abc' || 'def'",
        "SELECT lpad('hi', 5, 'xy'), rpad('hi', 1, 'x'), lpad('hi', -1, 'x')",
        "SELECT trim('  x  '), ltrim('xxa', 'x'), rtrim('axx', 'x')",
        "SELECT replace('aaa', 'a', ''), replace('abc', '', 'x')",
        "SELECT split('a,b,,c', ','), split('', ',')",
        "SELECT instr('abc', ''), locate('b', 'abcb', 3), position('z' IN 'abc')",
        "SELECT repeat('ab', 0), repeat('ab', -1), repeat(NULL, 2)",
        "SELECT reverse(''), initcap('hello wORLD'), ascii('')",
        "SELECT left('abc', 0), right('abc', 5), left('abc', -1)",
        "SELECT regexp_replace('a1b22', '[0-9]+', '#'), regexp_extract('x12y', '([0-9]+)', 1)",
        "SELECT 'ab' = 'AB', 'a' < 'b', 'a ' = 'a'",
        "SELECT X'0102', X'', hex(X'ABCD')",
        "SELECT format_number(1234567.891, 2), format_number(-0.5, 0)",
        "SELECT translate('abc', 'ab', 'x'), soundex('Robert')",
        "SELECT startswith('abc', ''), endswith('abc', NULL), contains('abc', 'bc')",
        "SELECT char_length('héllo'), octet_length('héllo'), bit_length('a')",
        "SELECT to_char(1234.5, '99.99'), to_char(-5, 'S999'), to_char(-5.5, '999.99PR'), "
        "to_char(0.5, '.99'), to_char(-20, '999'), to_char(5, '$000S')",
        "SELECT to_char(1.5D, '9.9'), to_char(CAST(NULL AS INT), '999'), to_char(454, 'abc')",
        "SELECT to_char(1e20D, '9')",
        "SELECT to_number('  454', '999'), to_number('1 , 2', '9,9'), to_number('<5>', '9PR'), "
        "try_to_number('12', '9,9'), to_number('1', NULL)",
        "SELECT to_number('5', '09')",
        "SELECT format_number(-0.4, 0), format_number(0.125D, 2), format_number(2.5, 0), "
        "format_number(5, -1), format_number(1234.5, '#,##0.##'), format_number(0.5, '#.##')",
        "SELECT hex(substr(x'0102030405', -2)), hex(substr(x'0102030405', 0, 2)), "
        "hex(left(x'0102', -1)), hex(lpad(unhex('aabb'), 4, x'')), hex(overlay(x'010203' "
        "PLACING x'ff' FROM 5))",
        "SELECT contains(x'1ABC', x'AB'), startswith(x'01', x''), endswith(NULL, x'01'), "
        "length(x''), bit_length(x'0102')",
        "SELECT hex(encode(make_valid_utf8(x'E08080'), 'utf-8')), is_valid_utf8(x'EDA080'), "
        "try_validate_utf8(x'80'), make_valid_utf8(NULL)",
        "SELECT validate_utf8(x'C0AF')",
        "SELECT from_base32('mzxw6==='), from_base32('MZXW6YQ'), from_base32('1'), to_base32('')",
        "SELECT try_to_binary('YWJ', 'base64'), try_to_binary('YWJj=', 'base64'), "
        "try_to_binary('616', 'hex'), try_to_binary(' 61', 'hex'), try_to_binary('abc', 'x')",
        "SELECT luhn_check(''), luhn_check('0'), luhn_check('a1'), soundex('Ashcraft'), "
        "soundex('Pfister'), soundex('1abc')",
        "SELECT split('a1b2c3', '[0-9]', 2), split('abc', '', 2), split('1a', '[0-9]', 2)",
        "SELECT instr('aaaa', 'aa', -1, 2), instr('abc', '', 3, 2), substring_index('aaa', "
        "'aa', -1), substring_index('a.b.c', '.', -2)",
        "SELECT instr('abc', 'b', 1, 0)",
        "SELECT 'a''b', '''', \"x\"\"y\", 'a' 'b', 'a''b' 'c', 'x\"\"y', length('it''s')",
        "SELECT levenshtein('kitten', 'sitting', 3), quote(''), regexp_substr('abc', '(x)?'), "
        "ascii(-1), concat_ws(NULL), collation(NULL)",
    ],
    "math": [
        "SELECT 7 / 2, -7 / 2, 7 div 2, -7 div 2, 7 % -3, -7 % 3",
        "SELECT pmod(-7, 3), pmod(7, -3), mod(-7, 3)",
        "SELECT abs(-2147483647), abs(-1.5), abs(NULL)",
        "SELECT round(2.5), round(-2.5), round(1.25, 1), round(-1.25, 1), bround(2.5)",
        "SELECT round(123.456, -1), floor(-1.5), ceil(-1.5), floor(1.5, 1)",
        "SELECT 2147483647 + 1",
        "SELECT 9223372036854775807 + 1",
        "SELECT 1 / 0",
        "SELECT 1 % 0",
        "SELECT try_divide(1, 0), try_add(9223372036854775807, 1)",
        "SELECT sqrt(-1), ln(0), log10(100), log(2, 8), exp(0)",
        "SELECT power(2, 10), power(2, -1), 2 * 3.5, 1.0 / 3",
        "SELECT CAST(1 AS TINYINT) + CAST(1 AS TINYINT), 1.5 + 1",
        "SELECT greatest(1, NULL, 3), least(1, 2.5), greatest(NULL, NULL)",
        "SELECT sign(-3), signum(0), negative(5), positive(-5)",
        "SELECT conv('ff', 16, 10), bin(-1), hex(-1)",
        "SELECT 0.1 + 0.2, 3.0 * 1.1, CAST(10 AS DECIMAL(4,1)) / 3",
        "SELECT width_bucket(5.3, 0.2, 10.6, 5), e(), pi()",
        "SELECT cbrt(27), degrees(pi()), radians(180)",
        "SELECT conv('100', 2, 10), conv(-10, 16, -10), conv('12x4', 10, 10), conv('-1', 10, 16), "
        "conv('ZZ', 36, 2)",
        "SELECT conv('FFFFFFFFFFFFFFFFF', 16, 10)",
        "SELECT conv('8000000000000000', 16, -10), conv('-8000000000000001', 16, 10), conv('', "
        "10, 2), conv('1', 37, 2), conv(NULL, 2, 10)",
        "SELECT bin(13.3), bin(-1), bin(0), bin(-5.9), bin(NULL)",
    ],
    "datetime": [
        "SELECT DATE'2024-02-29' + 1, date_add(DATE'2024-02-28', 1), date_sub(DATE'2024-03-01', 1)",
        "SELECT add_months(DATE'2024-01-31', 1), add_months(DATE'2023-02-28', 12)",
        "SELECT datediff(DATE'2024-03-01', DATE'2024-02-01'), months_between(DATE'2024-03-31', "
        "DATE'2024-02-29')",
        "SELECT last_day(DATE'2024-02-10'), last_day(DATE'2023-02-10')",
        "SELECT dayofweek(DATE'2024-06-02'), weekday(DATE'2024-06-02'), "
        "dayofyear(DATE'2024-12-31')",
        "SELECT year(DATE'2024-02-29'), month(DATE'2024-02-29'), day(DATE'2024-02-29')",
        "SELECT weekofyear(DATE'2024-12-30'), quarter(DATE'2024-11-01')",
        "SELECT TIMESTAMP'2024-03-10 01:30:00', TIMESTAMP_NTZ'2024-03-10 01:30:00'",
        "SELECT hour(TIMESTAMP'2024-01-01 23:59:59'), minute(TIMESTAMP'2024-01-01 23:59:59')",
        "SELECT second(TIMESTAMP'2024-01-01 23:59:59.999')",
        "SELECT extract(SECOND FROM TIMESTAMP'2024-01-01 10:00:05.123456')",
        "SELECT extract(DOW FROM DATE'2024-06-02'), extract(DOY FROM DATE'2024-02-29')",
        "SELECT date_trunc('MONTH', TIMESTAMP'2024-02-29 12:00:00'), trunc(DATE'2024-02-29', "
        "'YEAR')",
        "SELECT to_date('2024-02-29'), to_date('29/02/2024', 'dd/MM/yyyy')",
        "SELECT to_timestamp('2024-02-29 12:34:56'), to_timestamp('2024-02-29', 'yyyy-MM-dd')",
        "SELECT date_format(TIMESTAMP'2024-02-29 13:04:05', 'yyyy-MM-dd HH:mm:ss EEE')",
        "SELECT from_utc_timestamp(TIMESTAMP'2024-01-01 00:00:00', 'America/New_York')",
        "SELECT to_utc_timestamp(TIMESTAMP'2024-01-01 00:00:00', 'Asia/Tokyo')",
        "SELECT make_date(2024, 2, 29), make_timestamp(2024, 2, 29, 1, 2, 3.5)",
        "SELECT make_date(2023, 2, 29)",
        "SELECT unix_timestamp(TIMESTAMP'1970-01-02 00:00:00'), from_unixtime(86400)",
        "SELECT timestamp_seconds(0), timestamp_millis(1500), date_from_unix_date(1)",
        "SELECT next_day(DATE'2024-02-28', 'MO'), dayname(DATE'2024-02-29')",
        "SELECT CAST('2024-02-29' AS DATE), CAST('2024-02-29 10:00:00' AS TIMESTAMP)",
        "SELECT DATE'2024-02-29' < TIMESTAMP'2024-02-29 00:00:01'",
        "SELECT k, window.start, window.end, count(*) FROM VALUES ('k', '2024-02-29 23:59:59'), "
        "('k', '2024-03-01 00:00:00'), ('k', '2024-03-01 06:00:00') AS t(k, ts) GROUP BY k, "
        "window(ts, '1 day') ORDER BY 2",
        "SELECT window_time(window(ts, '90 seconds')) FROM VALUES (TIMESTAMP'2024-02-29 "
        "10:59:59.5') AS t(ts)",
        "SELECT k, window.start, window.end, count(*) FROM VALUES ('k', '1969-12-31 23:50:00'), "
        "('k', '1970-01-01 00:25:00'), ('k', '1970-01-01 00:40:00') AS t(k, ts) GROUP BY k, "
        "window(ts, '1 hour', '20 minutes') ORDER BY 2",
        "SELECT months_between(TIMESTAMP'2024-03-31 10:00:00', TIMESTAMP'2024-02-29 23:00:00'), "
        "months_between(DATE'2024-01-15', DATE'2024-03-20', false), months_between(NULL, "
        "DATE'2024-01-01')",
        "SELECT months_between(TIMESTAMP'1999-12-31 23:59:59.999', TIMESTAMP'2000-01-01 00:00:00'), "
        "months_between('2024-02-29', '2023-02-28'), months_between(DATE'2024-01-01', "
        "DATE'2024-01-01')",
        "SELECT next_day(DATE'2024-02-29', 'sunday'), next_day('2024-12-31', 'Fri'), "
        "next_day(DATE'2024-01-01', NULL), next_day(DATE'2024-01-01', 'MON')",
        "SELECT next_day(DATE'2024-01-01', 'xx')",
        "SELECT to_utc_timestamp(TIMESTAMP'2024-10-27 01:30:00', 'Europe/London'), "
        "to_utc_timestamp(TIMESTAMP'2024-03-10 02:30:00', 'America/New_York'), "
        "make_timestamp(2024, 11, 3, 1, 30, 0, 'America/New_York')",
        "SELECT make_timestamp(DATE'2024-10-27', TIME'01:30:00', 'Europe/London'), "
        "convert_timezone('Australia/Lord_Howe', 'UTC', TIMESTAMP_NTZ'2024-04-07 01:45:00')",
        "SELECT convert_timezone('America/New_York', 'Asia/Tokyo', TIMESTAMP_NTZ'2024-03-10 "
        "02:30:00'), convert_timezone('UTC', TIMESTAMP_NTZ'2024-02-29 23:00:00')",
        "SELECT convert_timezone('Europe/London', 'UTC', TIMESTAMP_NTZ'2024-10-27 01:30:00'), "
        "convert_timezone('Asia/Kolkata', 'UTC', TIMESTAMP'2024-01-01 00:00:00')",
        "SELECT time_bucket(INTERVAL '1' MONTH, TIMESTAMP'2024-03-30 00:00:00', TIMESTAMP'2024-01-31 "
        "00:00:00'), time_bucket(INTERVAL '7' DAY, TIMESTAMP_NTZ'1969-12-25 12:00:00'), "
        "time_bucket(INTERVAL '2' YEAR, TIMESTAMP'2023-06-01 00:00:00')",
        "SELECT time_bucket(INTERVAL '15' MINUTE, TIMESTAMP'1969-12-31 23:59:00'), time_bucket("
        "INTERVAL '1' MONTH, TIMESTAMP'2024-06-15 08:59:59', TIMESTAMP'2024-06-15 09:00:00')",
        "SELECT time_bucket(INTERVAL '1 02:00:00' DAY TO SECOND, TIMESTAMP_NTZ'2024-01-01 "
        "00:00:00'), time_bucket(INTERVAL '3' MONTH, TIMESTAMP_NTZ'1969-11-15 00:00:00')",
        "SELECT time_bucket(INTERVAL '0' MINUTE, TIMESTAMP'2024-01-01 00:00:00')",
        "SELECT unix_timestamp('2024-02-29 12:00:00'), to_unix_timestamp(DATE'2024-02-29'), "
        "unix_timestamp('1969/12/31 23:59:59', 'yyyy/MM/dd HH:mm:ss')",
        "SELECT unix_timestamp(TIMESTAMP_NTZ'1969-12-31 23:59:59.5'), to_unix_timestamp("
        "'2024-02-29', 'yyyy-MM-dd')",
        "SELECT hour('2024-02-29T23:10:00'), minute('2024-02-29 23:10:59'), second('2024-02-29 "
        "23:10:59.9'), quarter('2024-12-31'), last_day('2024-02-01')",
        "SELECT make_timestamp(DATE'2024-02-29', TIME'23:59:59.999999', 'Asia/Kolkata'), "
        "make_timestamp_ntz(DATE'2024-02-29', TIME'00:00:00'), make_timestamp(CAST(NULL AS DATE))",
    ],
    "interval": [
        "SELECT INTERVAL '1-2' YEAR TO MONTH, INTERVAL '3 04:05:06.5' DAY TO SECOND",
        "SELECT INTERVAL 3 DAYS, INTERVAL 2 HOURS, INTERVAL -1 YEAR",
        "SELECT INTERVAL '10' MONTH, INTERVAL '1' DAY",
        "SELECT DATE'2024-01-31' + INTERVAL 1 MONTH, DATE'2024-02-29' - INTERVAL 1 YEAR",
        "SELECT TIMESTAMP'2024-01-01 00:00:00' + INTERVAL '1 02:00:00' DAY TO SECOND",
        "SELECT TIMESTAMP'2024-03-01 00:00:00' - TIMESTAMP'2024-02-28 12:00:00'",
        "SELECT DATE'2024-03-01' - DATE'2024-02-01'",
        "SELECT INTERVAL 1 DAY * 3, INTERVAL '1-6' YEAR TO MONTH / 2",
        "SELECT make_dt_interval(1, 2, 3, 4.5), make_ym_interval(1, 2)",
        "SELECT make_interval(1, 2, 0, 3)",
        "SELECT -INTERVAL '1' DAY, INTERVAL '0' SECOND",
        "SELECT make_interval(100, 11, 1, 1, 12, 30, 01.001001), make_interval(0, 1, 0, 1, 0, "
        "0, 100.000001), make_interval(), make_interval(-1, -2, 0, -3, -4, -5, -6.5)",
        "SELECT make_interval(1, 2, 0, 3), make_interval(0,0,0,0,0,0,10), "
        "make_interval(0,0,0,0,25,61,0), make_interval(0,-14), "
        "make_interval(0,0,0,0,0,0,-0.5)",
        "SELECT make_interval(2147483647)",
        "SELECT try_make_interval(2147483647), try_make_interval(100, null, 3), "
        "make_interval(0, 0, 0, 0, 0, 0, 1.2345678)",
        "SELECT TIMESTAMP'2024-01-31 10:00:00' + make_interval(0, 1, 0, 1, 2, 0, 0.5), "
        "TIMESTAMP_NTZ'2024-02-29 00:00:00' - make_interval(1)",
        "SELECT abs(INTERVAL -'1-1' YEAR TO MONTH), abs(INTERVAL '-3 04:00:00' DAY TO SECOND), "
        "sign(INTERVAL -'100' YEAR), signum(INTERVAL '0' DAY), sign(INTERVAL '1' SECOND)",
        "SELECT INTERVAL '1-1' YEAR TO MONTH div INTERVAL '-1' MONTH, "
        "INTERVAL '7' DAY div INTERVAL '2' DAY, INTERVAL -'7' HOUR div INTERVAL '2' HOUR",
        "SELECT INTERVAL '1' DAY div INTERVAL '0' DAY",
        "SELECT width_bucket(INTERVAL '1' YEAR, INTERVAL '0' YEAR, INTERVAL '10' YEAR, 10), "
        "width_bucket(INTERVAL '36' HOUR, INTERVAL '0' DAY, INTERVAL '10' DAY, 10)",
    ],
    "conditional": [
        "SELECT if(NULL, 1, 2), if(1 < 2, 'a', 'b')",
        "SELECT coalesce(NULL, NULL), coalesce(NULL, 1, 2), nvl(NULL, 'x'), nvl2(NULL, 1, 2)",
        "SELECT nullif(1, 1), nullif(1, 2), ifnull(NULL, 3), zeroifnull(NULL), nullifzero(0)",
        "SELECT CASE WHEN CAST(NULL AS BOOLEAN) THEN 1 ELSE 2 END, CASE 1 WHEN 1 THEN 'a' END, CASE 2 WHEN 1 "
        "THEN 'a' END",
        "SELECT CASE WHEN 1 = 1 THEN 1 ELSE 1.5 END",
    ],
    "predicate": [
        "SELECT NULL = NULL, NULL <=> NULL, 1 <=> NULL, NOT NULL",
        "SELECT 1 IN (1, NULL), 2 IN (1, NULL), 2 NOT IN (1, NULL)",
        "SELECT 'abc' RLIKE '^a', 'abc' ILIKE 'A%', 'abc' LIKE ANY ('x%', 'a%')",
        "SELECT 1 BETWEEN 0 AND 2, NULL BETWEEN 0 AND 1, isnull(NULL), isnotnull(1)",
        "SELECT true AND NULL, false AND NULL, true OR NULL, 1 = 1.0, '1' = 1",
        "SELECT isnan(CAST('NaN' AS DOUBLE)), CAST('NaN' AS DOUBLE) = CAST('NaN' AS DOUBLE)",
    ],
    "aggregate": [
        "SELECT sum(x), avg(x), count(x), count(*) FROM VALUES (1), (NULL), (3) AS t(x)",
        "SELECT sum(x), max(x), min(x) FROM VALUES (CAST(NULL AS INT)) AS t(x)",
        "SELECT count(DISTINCT x), sum(DISTINCT x) FROM VALUES (1), (1), (2) AS t(x)",
        "SELECT sum(x) FILTER (WHERE x > 1) FROM VALUES (1), (2), (3) AS t(x)",
        "SELECT every(x), any(x), some(x), bool_and(x) FROM VALUES (true), (false) AS t(x)",
        "SELECT collect_list(x), collect_set(x) FROM VALUES (2), (NULL), (2) AS t(x)",
        "SELECT stddev(x), variance(x), stddev_pop(x), var_pop(x) FROM VALUES (1), (2), (4) AS "
        "t(x)",
        "SELECT median(x), percentile(x, 0.5), mode(x) FROM VALUES (1), (2), (2), (10) AS t(x)",
        "SELECT first(x), last(x), first(x, true) FROM VALUES (NULL), (2), (3) AS t(x)",
        "SELECT max_by(x, y), min_by(x, y) FROM VALUES ('a', 1), ('b', 3) AS t(x, y)",
        "SELECT avg(x) FROM VALUES (1), (2) AS t(x)",
        "SELECT sum(x) FROM VALUES (9223372036854775807), (1) AS t(x)",
        "SELECT string_agg(x), listagg(x, '-') FROM VALUES ('a'), ('b') AS t(x)",
        "SELECT count_if(x > 1), array_agg(x) FROM VALUES (1), (2), (3) AS t(x)",
        "SELECT sum(x) FROM VALUES (1.5), (2.25) AS t(x)",
        # last(x, true), mode's tie rules, moments far from zero and past INT
        "SELECT last(x, true), last(x, false) FROM VALUES (10), (5), (NULL) AS t(x)",
        "SELECT g, last(x, true) FROM VALUES (1, NULL), (1, NULL), (2, 3) AS t(g, x) GROUP BY g "
        "ORDER BY g",
        "SELECT mode(x, true) FROM VALUES ('b'), ('a'), ('b'), ('a') AS t(x)",
        "SELECT mode(x), mode(x, true) FROM VALUES (1), (2), (2), (NULL), (NULL), (NULL) AS t(x)",
        "SELECT mode(x) FROM VALUES (CAST(NULL AS INT)) AS t(x)",
        "SELECT kurtosis(x), skewness(x) FROM VALUES (1), (1), (1) AS t(x)",
        "SELECT kurtosis(x), skewness(x) FROM VALUES (2147483647), (-2147483648), (0), (5) AS t(x)",
        "SELECT kurtosis(x), skewness(x) FROM VALUES (1000000000.5D), (1000000001D), "
        "(1000000003D), (1000000000D) AS t(x)",
        # Spark's bitmaps
        "SELECT bitmap_bit_position(1), bitmap_bit_position(32768), bitmap_bit_position(0), "
        "bitmap_bit_position(-1), bitmap_bucket_number(32769), bitmap_bucket_number(-1)",
        "SELECT substring(hex(bitmap_construct_agg(bitmap_bit_position(x))), 0, 6), "
        "bitmap_count(bitmap_construct_agg(bitmap_bit_position(x))) FROM VALUES (1), (2), (3), "
        "(40000) AS t(x)",
        "SELECT substring(hex(bitmap_and_agg(x)), 0, 6), substring(hex(bitmap_or_agg(x)), 0, 6) "
        "FROM VALUES (X'F0'), (X'7011'), (X'30') AS t(x)",
        "SELECT bitmap_count(X'FF0F'), bitmap_count(X''), hex(bitmap_or_agg(x)) = repeat('00', "
        "4096) FROM VALUES (CAST(NULL AS BINARY)) AS t(x)",
        # sketches: Spark's bytes, estimates, lgK limits and errors
        "SELECT hex(hll_sketch_agg(x)), hex(hll_sketch_agg(x, 4)) FROM VALUES (1), (2), (2) AS t(x)",
        "SELECT hex(hll_sketch_agg(x)) FROM VALUES ('a'), ('b'), (''), (NULL) AS t(x)",
        "SELECT hll_sketch_estimate(hll_sketch_agg(x)), hll_sketch_estimate(hll_sketch_agg("
        "CAST(x AS BIGINT), 5)), hll_sketch_estimate(hll_sketch_agg(CAST(x AS STRING))) FROM "
        "range(0, 5000) AS t(x)",
        "SELECT hll_sketch_estimate(hll_sketch_agg(x)) FROM VALUES (CAST(NULL AS INT)) AS t(x)",
        "SELECT hll_sketch_agg(x, 3) FROM VALUES (1) AS t(x)",
        "SELECT hll_sketch_agg(x) FROM VALUES (1.5D) AS t(x)",
        "SELECT hll_sketch_estimate(hll_union(hll_sketch_agg(a, 12), hll_sketch_agg(b, 10), "
        "true)) FROM VALUES (1, 4), (2, 5) AS t(a, b)",
        "SELECT hll_union(hll_sketch_agg(a, 12), hll_sketch_agg(b, 10)) FROM VALUES (1, 4) AS "
        "t(a, b)",
        "SELECT hll_sketch_estimate(X'0102')",
        "SELECT hex(theta_sketch_agg(x)), hex(theta_sketch_agg(CAST(NULL AS INT))) FROM VALUES "
        "(1), (2), (2) AS t(x)",
        "SELECT theta_sketch_estimate(theta_sketch_agg(x)), theta_sketch_estimate("
        "theta_sketch_agg(CAST(x AS DOUBLE), 5)), theta_sketch_estimate(theta_sketch_agg("
        "CAST(x AS STRING))) FROM range(0, 5000) AS t(x)",
        "SELECT theta_sketch_estimate(theta_union(theta_sketch_agg(a), theta_sketch_agg(b))), "
        "theta_sketch_estimate(theta_intersection(theta_sketch_agg(a), theta_sketch_agg(b))), "
        "theta_sketch_estimate(theta_difference(theta_sketch_agg(a), theta_sketch_agg(b))) "
        "FROM VALUES (1, 4), (2, 1), (3, 2) AS t(a, b)",
        "SELECT hex(theta_union_agg(s)), hex(theta_intersection_agg(s)) FROM VALUES "
        "(CAST(NULL AS BINARY)) AS t(s)",
        "SELECT kll_sketch_get_n_bigint(kll_sketch_agg_bigint(x)), "
        "kll_sketch_get_quantile_bigint(kll_sketch_agg_bigint(x), 0.5), "
        "kll_sketch_get_rank_bigint(kll_sketch_agg_bigint(x), 3) FROM VALUES (1), (2), (3), (4), "
        "(5) AS t(x)",
        "SELECT kll_sketch_get_quantile_double(kll_sketch_agg_double(x), array(0.1, 0.9)), "
        "kll_sketch_get_rank_double(kll_sketch_agg_double(x), array(1.5D, 9.0D)) FROM VALUES "
        "(1.0D), (2.0D), (3.0D) AS t(x)",
        "SELECT hex(kll_sketch_agg_bigint(x)), hex(kll_sketch_agg_float(CAST(x AS FLOAT))) FROM "
        "VALUES (1), (2) AS t(x)",
        "SELECT kll_sketch_get_quantile_float(kll_sketch_agg_float(x, 8), array(0.0, 0.25, 1.0)) "
        "FROM VALUES (CAST(-1.5 AS FLOAT)), (CAST(NULL AS FLOAT)), (CAST(2.5 AS FLOAT)) AS t(x)",
        "SELECT kll_sketch_get_quantile_bigint(kll_sketch_agg_bigint(x), 1.5) FROM VALUES (1) AS "
        "t(x)",
        "SELECT kll_sketch_agg_bigint(x, 7) FROM VALUES (1) AS t(x)",
        "SELECT kll_sketch_agg_double(x) FROM VALUES (1), (2) AS t(x)",
        "SELECT kll_sketch_get_quantile_bigint(kll_sketch_agg_bigint(x), 0.5) FROM VALUES "
        "(CAST(NULL AS BIGINT)) AS t(x)",
        "SELECT g, kll_sketch_get_quantile_bigint(kll_sketch_agg_bigint(v), 0.5) FROM VALUES "
        "(1, 10), (1, 20), (1, 30), (2, -5) AS t(g, v) GROUP BY g ORDER BY g",
        # approx_top_k: equal counts in the order of Spark's sketch table (hash of the item)
        "SELECT approx_top_k(x, 20) FROM VALUES ('b'), ('a'), ('c'), ('a'), (NULL), (NULL), "
        "(NULL), ('é'), ('dd'), ('') AS t(x)",
        "SELECT approx_top_k(x, 30) FROM range(0, 40) AS t(x)",
        "SELECT approx_top_k(CAST(x % 17 AS INT), 20) FROM range(0, 40) AS t(x)",
        "SELECT approx_top_k(CAST(x AS STRING), 30) FROM range(0, 25) AS t(x)",
        "SELECT approx_top_k(x) FROM VALUES (1.5D), (-0.0D), (0.0D), (CAST('NaN' AS DOUBLE)), "
        "(2.5D), (1.5D) AS t(x)",
        "SELECT approx_top_k(x) FROM VALUES (true), (false), (NULL), (false) AS t(x)",
        "SELECT approx_top_k(x) FROM VALUES (TIMESTAMP'2024-01-01 00:00:00'), "
        "(TIMESTAMP'2024-01-02 00:00:00'), (TIMESTAMP'2023-01-01 00:00:00') AS t(x)",
        "SELECT approx_top_k(x, 0) FROM VALUES (1) AS t(x)",
        "SELECT approx_top_k(x, 5, 3) FROM VALUES (1) AS t(x)",
        "SELECT approx_top_k(x, 2, 3) FROM range(0, 10) AS t(x)",
    ],
    "window": [
        "SELECT x, row_number() OVER (ORDER BY x), rank() OVER (ORDER BY x), dense_rank() OVER "
        "(ORDER BY x) FROM VALUES (1), (1), (2) AS t(x)",
        "SELECT x, lag(x) OVER (ORDER BY x), lead(x, 2, 0) OVER (ORDER BY x) FROM VALUES (1), "
        "(2), (3) AS t(x)",
        "SELECT x, sum(x) OVER (ORDER BY x ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM VALUES "
        "(1), (2), (3) AS t(x)",
        "SELECT x, percent_rank() OVER (ORDER BY x), cume_dist() OVER (ORDER BY x), ntile(2) "
        "OVER (ORDER BY x) FROM VALUES (1), (2), (3) AS t(x)",
        "SELECT x, first_value(x) OVER (ORDER BY x), last_value(x) OVER (ORDER BY x), "
        "nth_value(x, 2) OVER (ORDER BY x) FROM VALUES (1), (2), (3) AS t(x)",
        "SELECT t, c, counter_diff(c) OVER (ORDER BY t) FROM VALUES (1, 10), (2, NULL), (3, 15), "
        "(4, 5), (5, 7) AS x(t, c) ORDER BY t",
        "SELECT t, counter_diff(c) OVER (ORDER BY t) FROM VALUES (1, 10), (2, -1) AS x(t, c)",
        "SELECT t, counter_diff(c, s) OVER (ORDER BY t) FROM VALUES (1, 10, 5), (2, 20, NULL), "
        "(3, 30, 4) AS x(t, c, s) ORDER BY t",
    ],
    "array": [
        "SELECT array(1, NULL), size(array(1)), size(NULL)",
        "SELECT array()",
        "SELECT array(NULL)",
        "SELECT size(array())",
        "SELECT array_contains(array(1, NULL), 2), array_contains(array(1, NULL), 1)",
        "SELECT array_position(array(3, NULL, 3), 3), array_position(array(1), 5)",
        "SELECT array_remove(array(1, NULL, 2), 1), array_distinct(array(1, NULL, NULL, 1))",
        "SELECT array_max(array()), array_min(array(NULL, 2)), array_join(array('a', NULL), ',')",
        "SELECT array_join(array('a', NULL), ',', '?'), array_union(array(1), array(NULL))",
        "SELECT sort_array(array(3, NULL, 1)), sort_array(array(3, NULL, 1), false)",
        "SELECT element_at(array(1, 2), -1), element_at(array(1, 2), 5)",
        "SELECT array(1, 2)[0], array(1, 2)[5]",
        "SELECT try_element_at(array(1), 3), slice(array(1, 2, 3, 4), -2, 2)",
        "SELECT sequence(5, 1), sequence(1, 5, 2), sequence(DATE'2024-02-27', DATE'2024-03-01')",
        "SELECT flatten(array(array(1), array(), NULL))",
        "SELECT flatten(array(array(1), array()))",
        "SELECT array_intersect(array(1, 2, 2), array(2, 2)), array_except(array(1, 2), array(1))",
        "SELECT arrays_overlap(array(1), array(NULL, 2)), arrays_zip(array(1, 2), array('a'))",
        "SELECT array_repeat('x', 0), array_append(array(1), NULL), array_prepend(array(1), 0)",
        "SELECT concat(array(1), array(2, 3)), reverse(array(1, 2)), array_compact(array(1, NULL))",
        "SELECT explode(array(1, NULL))",
        "SELECT posexplode(array('a', 'b'))",
        "SELECT array_insert(array(1, 2), 1, 0), array_size(array(1, 2))",
        "SELECT arrays_zip(a, b) FROM VALUES (array(1, 2), array('x')) AS t(a, b)",
        "SELECT arrays_zip(a, array(9)), arrays_zip(array(), array()), arrays_zip(a, NULL) FROM "
        "VALUES (array(1, 2)) AS t(a)",
    ],
    "lambda": [
        "SELECT transform(array(1, 2, 3), (x, i) -> x + i)",
        "SELECT transform(array(), x -> x + 1), filter(array(1, NULL, 3), x -> x IS NOT NULL)",
        "SELECT filter(array(5, 6, 7), (x, i) -> i > 0)",
        "SELECT aggregate(array(1, 2, 3), 0, (acc, x) -> acc + x, acc -> acc * 10)",
        "SELECT reduce(array(1, 2, 3), 0, (acc, x) -> acc + x)",
        "SELECT exists(array(1, NULL), x -> x > 1), forall(array(1, NULL), x -> x > 0)",
        "SELECT zip_with(array(1, 2), array(10), (a, b) -> a + b)",
        "SELECT array_sort(array(3, 1, 2), (a, b) -> b - a), array_sort(array('b', NULL, 'a'))",
        "SELECT transform_keys(map(1, 'a'), (k, v) -> k + 1), transform_values(map(1, 2), (k, v) "
        "-> v * k)",
        "SELECT map_filter(map(1, 0, 2, 5), (k, v) -> v > k)",
        "SELECT array_sort(array(2, 1, 2, 1), (a, b) -> 0), array_sort(CAST(NULL AS ARRAY<INT>), "
        "(a, b) -> a - b)",
        "SELECT array_sort(array(named_struct('k', 2, 'v', 'x'), named_struct('k', 1, 'v', 'y'), "
        "named_struct('k', 2, 'v', 'z')), (l, r) -> l.k - r.k)",
        "SELECT map_zip_with(map(1, 'a'), map(2, 'b'), (k, x, y) -> concat(coalesce(x, '-'), "
        "coalesce(y, '-')))",
        "SELECT zip_with(array(1, 2), array('a'), (x, y) -> (x, y)), zip_with(array(1), array(2), "
        "(x, y) -> x * y)",
    ],
    "map": [
        "SELECT map(1, 'a', 2, NULL), map_keys(map(1, 'a')), map_values(map(1, 'a'))",
        "SELECT map()",
        "SELECT map(1, 'a')[2], element_at(map(1, 'a'), 1), try_element_at(map(1, 'a'), 2)",
        "SELECT map_concat(map(1, 'a'), map(2, 'b')), map_from_arrays(array(1, 2), array('a', "
        "'b'))",
        "SELECT map_contains_key(map(1, 'a'), 1), map_entries(map(1, 'a')), size(map(1, 2))",
        "SELECT map(1, 'a', 1, 'b')",
        "SELECT map_from_entries(array(struct(1, 'a'), struct(2, 'b'))), str_to_map('a:1,b:2')",
    ],
    "struct": [
        "SELECT struct(1, 'a'), named_struct('x', 1, 'y', NULL), struct(1 AS a).a",
        "SELECT named_struct('a', array(1), 'b', map('k', 1.5))",
        "SELECT struct(NULL)",
    ],
    "json": [
        "SELECT get_json_object('{\"a\": {\"b\": [1, 2]}}', '$.a.b[1]'), get_json_object('x', "
        "'$.a')",
        "SELECT to_json(named_struct('a', 1, 'b', NULL)), to_json(array(map('k', 1)))",
        "SELECT from_json('{\"a\": 1, \"b\": \"x\"}', 'a INT, b STRING')",
        "SELECT json_tuple('{\"a\": 1, \"b\": 2}', 'a', 'c')",
        "SELECT json_tuple('{\"a\":1.50, \"b\":{\"x\": 1, \"y\" : [1, 2]}, \"d\":null, \"e\":true, "
        "\"g\": 1e3, \"h\": -0}', 'a', 'b', 'd', 'e', 'g', 'h', 'zz')",
        "SELECT x, json_tuple(j, 'a') AS (k) FROM VALUES (1, '{\"a\":\"q\"}'), (2, 'no') AS t(x, j)",
        "SELECT schema_of_json('{}'), schema_of_json('[null]'), schema_of_json('[[1],[2.0]]'), "
        "schema_of_json('[1, {\"a\":1}]'), schema_of_json('{\"b\":12345678901234567890, "
        "\"a b\":[{\"x\":1},{\"y\":\"s\"}]}')",
        "SELECT to_json(map('a', named_struct('b', 1))), to_json(named_struct('m', map('k', 1))), "
        "to_json(array(map('k', 1)))",
        "SELECT schema_of_json('[{\"a\": 1.5}]'), json_array_length('[1, [2], {}]')",
        "SELECT json_object_keys('{\"a\": 1, \"b\": {}}'), json_array_length('x')",
    ],
    "url": [
        "SELECT parse_url('http://u@h.com:8080/p/a?x=1&y=2#f', 'HOST'), parse_url('http://h.com/p"
        "?x=1&y=2', 'QUERY', 'y')",
        "SELECT url_encode('a b&c'), url_decode('a+b%26c'), try_url_decode('%zz')",
        "SELECT url_encode('é~'), url_decode('%C3%A9+x'), url_decode('%e2%82'), "
        "try_url_decode('a%2')",
        "SELECT url_decode('%zz')",
        "SELECT try_parse_url('http://a b/', 'HOST'), try_parse_url('http://h/p?a=1', 'QUERY', "
        "'a'), try_parse_url('http://h/p', 'XYZ')",
    ],
    "hash": [
        "SELECT md5(''), sha1('abc'), sha2('abc', 256), sha2('abc', 0), crc32('')",
        "SELECT hash(NULL), hash(1), xxhash64('a'), md5(NULL)",
        "SELECT crc32('Spark'), crc32(''), crc32(X'00FF'), crc32(NULL)",
        "SELECT hash('a'), hash('abc'), hash('abcde'), hash('é'), xxhash64('日本語テキスト')",
        "SELECT hash(-1), hash(-1L), hash(9223372036854775807), xxhash64(2147483647), "
        "xxhash64(-9223372036854775808)",
        "SELECT hash(true), xxhash64(false), hash(CAST(NULL AS INT), 5), hash(NULL, NULL)",
        "SELECT hash(-0.0D), hash(CAST('NaN' AS DOUBLE)), xxhash64(CAST(-0.0 AS FLOAT)), "
        "hash(CAST('NaN' AS FLOAT))",
        "SELECT hash(1.5), hash(CAST(-123.45 AS DECIMAL(20,2))), xxhash64(CAST(-128 AS "
        "DECIMAL(38,0)))",
        "SELECT hash(DATE'2024-02-29'), hash(TIMESTAMP'2024-02-29 12:34:56.789'), "
        "xxhash64(TIMESTAMP_NTZ'1969-12-31 23:59:59')",
        "SELECT hash(X''), hash(array(1, NULL, 3)), hash(array()), xxhash64(array(array(1L)))",
        "SELECT hash(x), xxhash64(x, y) FROM VALUES (1, 'a'), (NULL, 'b'), (3, NULL) AS t(x, y)",
        "SELECT hash(map(1, 'a'))",
        "SELECT hash(named_struct('b', 1, 'a', 2)), hash(INTERVAL '1' DAY)",
        "SELECT hash()",
    ],
    "bitwise": [
        "SELECT 5 & 3, 5 | 3, 5 ^ 3, ~5, -8 >> 1, -8 >>> 1, 1 << 62",
        "SELECT bit_count(-1), bit_get(5, 0), getbit(5, 1), shiftright(-8, 1), shiftrightunsigned"
        "(-8, 1)",
        "SELECT bit_and(x), bit_or(x), bit_xor(x) FROM VALUES (3), (5) AS t(x)",
        "SELECT 1024 >> 40, -1 << 31, shiftleft(1L, 63), shiftleft(-3L, 65), -8L >>> 1, "
        "-8L >>> 0, -8 >>> 32",
        "SELECT CAST(-128 AS TINYINT) >>> 1, shiftrightunsigned(NULL, 1), shiftleft(5, NULL), "
        "7 << -1",
        "SELECT bit_count(true), bit_count(CAST(-1 AS TINYINT)), bit_count(NULL), bit_count(-1L)",
    ],
    "conversion": [
        "SELECT CAST('12' AS INT), CAST(' 12 ' AS INT), CAST(12.7 AS INT), CAST(-12.7 AS INT)",
        "SELECT CAST('abc' AS INT)",
        "SELECT try_cast('abc' AS INT), try_cast('1.5' AS DECIMAL(3,1))",
        "SELECT CAST(300 AS TINYINT)",
        "SELECT CAST(1.5 AS STRING), CAST(1e10 AS STRING), CAST(true AS STRING), CAST(0.1 AS "
        "DOUBLE)",
        "SELECT CAST(DATE'2024-02-29' AS STRING), CAST(TIMESTAMP'2024-02-29 01:02:03' AS STRING)",
        "SELECT CAST('true' AS BOOLEAN), CAST('yes' AS BOOLEAN)",
        "SELECT CAST('1e3' AS DOUBLE), CAST('inf' AS DOUBLE), CAST(array(1, 2) AS STRING)",
        "SELECT CAST(map('a', 1) AS STRING), CAST(struct(1, 'x') AS STRING)",
        "SELECT typeof(1), typeof(1L), typeof(1.5), typeof(1.5D), typeof('a'), typeof(DATE"
        "'2024-01-01')",
        "SELECT typeof(array(1)), typeof(map('a', 1)), typeof(named_struct('a', 1)), typeof(NULL)",
        "SELECT typeof(X'01'), typeof(TIMESTAMP'2024-01-01 00:00:00'), typeof(INTERVAL 1 DAY)",
        "SELECT 1 + '2', '3' * 2, DATE'2024-01-01' = '2024-01-01'",
        "SELECT CAST(123.456 AS DECIMAL(5,2)), CAST(1 AS DECIMAL(38,10))",
        "SELECT CAST(12345.6 AS DECIMAL(4,1))",
        "SELECT to_number('12.5', '99.9'), to_char(12.5, '999.99')",
        "SELECT 100Y, 100S, 100L, 1.5BD, 1.5F, 1e2",
    ],
    "generator": [
        "SELECT * FROM range(3)",
        "SELECT * FROM range(1, 10, 4)",
        "SELECT id FROM range(2, 0, -1)",
        "SELECT * FROM explode(array(1, 2))",
        "SELECT * FROM posexplode(array('a', 'b'))",
        "SELECT * FROM inline(array(struct(1, 'a'), struct(2, 'b')))",
        "SELECT stack(2, 1, 'a', 2, 'b')",
        "SELECT * FROM stack(2, 1, 'a', 2, 'b')",
        "SELECT x, y FROM VALUES (1, array(10, 20)) AS t(x, a) LATERAL VIEW explode(a) e AS y",
        "SELECT x, p, y FROM VALUES (1, array(10, 20)) AS t(x, a) LATERAL VIEW posexplode(a) e "
        "AS p, y",
        "SELECT x, y FROM VALUES (1, array()) AS t(x, a) LATERAL VIEW OUTER explode(a) e AS y",
        "SELECT explode(map('a', 1, 'b', 2))",
        "SELECT explode_outer(array())",
    ],
}


def cases() -> list[tuple[str, str, str]]:
    """(family, function label, sql) for every property case."""
    out = []
    for family, sqls in _CASES.items():
        for sql in sqls:
            out.append((family, _label(sql), sql))
    return out


def _label(sql: str) -> str:
    """The first function a case calls, as the report's label."""
    body = sql.removeprefix("SELECT ").strip()
    head = body.split("(", 1)[0].strip().lower()
    return head if head.isidentifier() else "expression"
