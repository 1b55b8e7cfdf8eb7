/* test_keylife.c: the dated decisions about a stored key, at their
 * boundaries: when its last use is written again, the second it expires,
 * when it "expires soon", and the expiry a PUT body may ask for. */
#include "unit.h"

#include <json-c/json.h>

#include "keylife.h"
#include "status.h"

#define T0 1767225600 /* 2026-01-01T00:00:00Z */

static void test_touch_at_most_once_a_minute(void **state)
{
	(void)state;
	assert_true(keylife_touch_due(NULL, T0));
	assert_true(keylife_touch_due("garbage", T0));
	assert_false(keylife_touch_due("2026-01-01T00:00:00Z", T0));
	assert_false(keylife_touch_due("2026-01-01T00:00:00Z", T0 + KEYSTORE_TOUCH_EVERY_S - 1));
	assert_true(keylife_touch_due("2026-01-01T00:00:00Z", T0 + KEYSTORE_TOUCH_EVERY_S));
	/* a clock moved back: the stored time is wrong, write it again */
	assert_true(keylife_touch_due("2026-01-01T00:00:00Z", T0 - 1));
}

static void test_expired_from_its_second_on(void **state)
{
	(void)state;
	assert_false(keylife_expired(NULL, T0));
	assert_false(keylife_expired("2026-01-01T00:00:00Z", T0 - 1));
	assert_true(keylife_expired("2026-01-01T00:00:00Z", T0));
	assert_true(keylife_expired("2026-01-01T00:00:00Z", T0 + 1));
	/* an expiry that cannot be read never keeps a key alive */
	assert_true(keylife_expired("tomorrow", T0));
}

static void test_expires_soon_within_seven_days(void **state)
{
	const time_t at = T0 + 30 * KEYLIFE_DAY_S;
	char iso[CLOCK_ISO_LEN + 1];

	(void)state;
	clock_format_iso(at, iso);
	assert_false(keylife_expires_soon(NULL, T0));
	assert_false(keylife_expires_soon(iso, at - KEYLIFE_SOON_DAYS * KEYLIFE_DAY_S - 1));
	assert_true(keylife_expires_soon(iso, at - KEYLIFE_SOON_DAYS * KEYLIFE_DAY_S));
	assert_true(keylife_expires_soon(iso, at - 1));
	assert_false(keylife_expires_soon(iso, at)); /* expired, not soon */
}

static int parse(const char *json, char out[CLOCK_ISO_LEN + 1], char *why)
{
	struct json_object *root = json_tokener_parse(json);
	int rc;

	assert_non_null(root);
	why[0] = '\0';
	rc = keylife_parse_expiry(root, T0, out, why, 120);
	json_object_put(root);
	return rc;
}

static void test_expiry_a_put_may_give(void **state)
{
	char out[CLOCK_ISO_LEN + 1], why[120];

	(void)state;
	assert_int_equal(parse("{\"provider\":\"openai\"}", out, why), GK_OK);
	assert_string_equal(out, "");
	assert_int_equal(parse("{\"expiresAt\":null,\"expiresInDays\":null}", out, why), GK_OK);
	assert_string_equal(out, "");
	assert_int_equal(parse("{\"expiresInDays\":1}", out, why), GK_OK);
	assert_string_equal(out, "2026-01-02T00:00:00Z");
	assert_int_equal(parse("{\"expiresInDays\":365}", out, why), GK_OK);
	assert_string_equal(out, "2027-01-01T00:00:00Z");
	assert_int_equal(parse("{\"expiresAt\":\"2026-01-01T00:00:01Z\"}", out, why), GK_OK);
	assert_string_equal(out, "2026-01-01T00:00:01Z");
	assert_int_equal(parse("{\"expiresAt\":\"2027-01-01T00:00:00Z\"}", out, why), GK_OK);
}

static void refused(const char *json, const char *detail)
{
	char out[CLOCK_ISO_LEN + 1], why[120];

	assert_int_equal(parse(json, out, why), GK_ERR);
	assert_string_equal(why, detail);
}

static void test_expiry_refused_names_the_field(void **state)
{
	static const char days[] = "Field 'expiresInDays' must be a whole number from 1 to 365";
	static const char form[] = "Field 'expiresAt' must be a UTC time as YYYY-MM-DDTHH:MM:SSZ";

	(void)state;
	refused("{\"expiresAt\":\"2026-02-01T00:00:00Z\",\"expiresInDays\":30}",
		"Give either 'expiresAt' or 'expiresInDays', not both");
	refused("{\"expiresInDays\":0}", days);
	refused("{\"expiresInDays\":366}", days);
	refused("{\"expiresInDays\":-1}", days);
	refused("{\"expiresInDays\":1.5}", days);
	refused("{\"expiresInDays\":\"30\"}", days);
	refused("{\"expiresInDays\":true}", days);
	refused("{\"expiresInDays\":99999999999999999999}", days);
	refused("{\"expiresAt\":\"2026-01-01T00:00:00Z\"}", "Field 'expiresAt' must be in the future");
	refused("{\"expiresAt\":\"2025-06-01T00:00:00Z\"}", "Field 'expiresAt' must be in the future");
	refused("{\"expiresAt\":\"2027-01-01T00:00:01Z\"}",
		"Field 'expiresAt' must be at most 365 days ahead");
	refused("{\"expiresAt\":\"2026-02-01\"}", form);
	refused("{\"expiresAt\":\"2026-02-01T00:00:00+01:00\"}", form);
	refused("{\"expiresAt\":1767225600}", form);
	refused("{\"expiresAt\":\"2026-02-01T00:00:00Z\\u0000x\"}", form);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_touch_at_most_once_a_minute),
		cmocka_unit_test(test_expired_from_its_second_on),
		cmocka_unit_test(test_expires_soon_within_seven_days),
		cmocka_unit_test(test_expiry_a_put_may_give),
		cmocka_unit_test(test_expiry_refused_names_the_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
