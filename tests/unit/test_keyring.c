/* test_keyring.c: the master key file (product spec 5): parsing, keygen
 * (mode 0600, never overwrites), keygen --append for rotation. */
#include "unit.h"

#include <errno.h>
#include <sys/stat.h>

#include "keyring.h"
#include "status.h"

/* base64 of 32 bytes 0x00..0x1f, of 32 bytes 0xff, of 31 and of 33 bytes. */
#define KEY0 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
#define KEYF "//////////////////////////////////////////8="
#define KEY31 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg=="
#define KEY33 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g"

static void assert_key0(const unsigned char *key)
{
	for (int i = 0; i < 32; i++)
		assert_int_equal(key[i], i);
}

static void test_keyring_parse_one(void **state)
{
	const char text[] = "k1:" KEY0 "\n";
	struct keyring ring;
	char err[256] = "";

	(void)state;
	if (keyring_parse(&ring, text, strlen(text), err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	assert_int_equal(ring.count, 1);
	assert_string_equal(ring.keys[0].kid, "k1");
	assert_key0(ring.keys[0].key);
	assert_ptr_equal(keyring_current(&ring), &ring.keys[0]);
	assert_ptr_equal(keyring_find(&ring, "k1", 2), &ring.keys[0]);
	keyring_release(&ring);
	assert_null(ring.keys);
	assert_int_equal(ring.count, 0);
	assert_null(keyring_current(&ring));
}

/* Comments, blank lines, surrounding whitespace, CRLF, no final newline. */
static void test_keyring_parse_layout(void **state)
{
	const char text[] = "# master keys\r\n"
			    "\r\n"
			    "   # indented comment\n"
			    "  old:" KEYF "  \t\r\n"
			    "\t\n"
			    "new_2024-01:" KEY0;
	struct keyring ring;
	char err[256] = "";
	const struct master_key *old;

	(void)state;
	if (keyring_parse(&ring, text, strlen(text), err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	assert_int_equal(ring.count, 2);
	/* the last line is the one new values are sealed with */
	assert_string_equal(keyring_current(&ring)->kid, "new_2024-01");
	assert_key0(keyring_current(&ring)->key);
	old = keyring_find(&ring, "old", 3);
	assert_non_null(old);
	for (int i = 0; i < 32; i++)
		assert_int_equal(old->key[i], 0xff);
	/* kids are matched by exact length and case */
	assert_null(keyring_find(&ring, "ol", 2));
	assert_null(keyring_find(&ring, "oldx", 4));
	assert_null(keyring_find(&ring, "OLD", 3));
	assert_null(keyring_find(&ring, "", 0));
	assert_ptr_equal(keyring_find(&ring, "oldjunk", 3), old); /* kid_len bounds it */
	keyring_release(&ring);
}

struct bad_case {
	const char *text;
	const char *err;
};

static const struct bad_case bad_cases[] = {
	{ "", "no key in the file" },
	{ "\n\n", "no key in the file" },
	{ "# only a comment\n", "no key in the file" },
	{ "k1 " KEY0 "\n", "line 1: expected KID:BASE64KEY" },
	{ KEY0 "\n", "line 1: expected KID:BASE64KEY" },
	{ ":" KEY0 "\n", "line 1: key id must be" },
	{ "k.1:" KEY0 "\n", "line 1: key id must be" }, /* '.' would break v1.<kid>.<b64> */
	{ "k 1:" KEY0 "\n", "line 1: key id must be" },
	{ "k\xc3\xa9:" KEY0 "\n", "line 1: key id must be" },
	{ "abcdefghijklmnopqrstuvwxyz0123456:" KEY0 "\n", "line 1: key id must be" }, /* 33 */
	{ "k1:\n", "line 1: key must be 32 bytes in base64" },
	{ "k1:!!!!\n", "line 1: key must be 32 bytes in base64" },
	{ "k1:" KEY31 "\n", "line 1: key must be 32 bytes in base64" },
	{ "k1:" KEY33 "\n", "line 1: key must be 32 bytes in base64" },
	{ "k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", /* padding missing */
	  "line 1: key must be 32 bytes in base64" },
	{ "k1:______________________________________________8=\n", /* URL-safe alphabet */
	  "line 1: key must be 32 bytes in base64" },
	{ "k1:AAECAwQFBgcICQoLDA0O DxAREhMUFRYXGBkaGxwdHh8=\n", "line 1: key must be 32 bytes in base64" },
	{ "k1:" KEY0 " # comment\n", "line 1: key must be 32 bytes in base64" },
	{ "k1:" KEY0 "=\n", "line 1: key must be 32 bytes in base64" },
	{ "k1:" KEY0 ":x\n", "line 1: key must be 32 bytes in base64" },
	{ "# header\n\nk1:" KEY0 "\nk2:nope\n", "line 4: key must be 32 bytes in base64" },
	{ "k1:" KEY0 "\nk1:" KEYF "\n", "line 2: key id 'k1' is used twice" },
	{ "k1:" KEY0 "\n# c\nk2:" KEY0 "\nk1:" KEYF "\n", "line 4: key id 'k1' is used twice" },
};

static void test_keyring_parse_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++) {
		const struct bad_case *c = &bad_cases[i];
		struct keyring ring;
		char err[256] = "";

		if (keyring_parse(&ring, c->text, strlen(c->text), err, sizeof(err)) != GK_ERR)
			fail_msg("case %zu accepted", i);
		if (!strstr(err, c->err))
			fail_msg("case %zu: '%s' does not contain '%s'", i, err, c->err);
		/* never quotes key material */
		assert_null(strstr(err, "AAECAwQF"));
		assert_null(strstr(err, "////"));
		assert_null(ring.keys);
		assert_int_equal(ring.count, 0);
	}
}

static void test_keyring_kid_limits(void **state)
{
	const char text[] = "abcdefghijklmnopqrstuvwxyzABCDEF:" KEY0 "\n" /* 32 */
			    "a:" KEYF "\n"
			    "Z-9_:" KEY0 "\n";
	struct keyring ring;
	char err[256] = "";

	(void)state;
	if (keyring_parse(&ring, text, strlen(text), err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	assert_int_equal(ring.count, 3);
	assert_int_equal(strlen(ring.keys[0].kid), KID_MAX);
	keyring_release(&ring);
}

/* KEYRING_MAX keys are fine, one more is refused. */
static void test_keyring_max_keys(void **state)
{
	char text[(KEYRING_MAX + 1) * 64];
	struct keyring ring;
	char err[256] = "";
	size_t n = 0;

	(void)state;
	for (int i = 0; i < KEYRING_MAX; i++)
		n += (size_t)sprintf(text + n, "k%d:%s\n", i, KEY0);
	if (keyring_parse(&ring, text, n, err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	assert_int_equal(ring.count, KEYRING_MAX);
	assert_string_equal(keyring_current(&ring)->kid, "k15");
	keyring_release(&ring);
	n += (size_t)sprintf(text + n, "k%d:%s\n", KEYRING_MAX, KEY0);
	assert_int_equal(keyring_parse(&ring, text, n, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "more than 16 keys"));
	assert_null(ring.keys);
}

static void test_valid_kid(void **state)
{
	static const struct {
		const char *kid;
		int valid;
	} cases[] = {
		{ "a", 1 },	  { "k20250101abcdef", 1 },
		{ "A-Z_0-9", 1 }, { "abcdefghijklmnopqrstuvwxyz012345", 1 },
		{ "", 0 },	  { "abcdefghijklmnopqrstuvwxyz0123456", 0 },
		{ "a.b", 0 },	  { "a:b", 0 },
		{ "a b", 0 },	  { "a/b", 0 },
		{ "a\n", 0 },	  { "\xc3\xa9", 0 },
		{ "+", 0 },	  { "=", 0 },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (valid_kid(cases[i].kid, strlen(cases[i].kid)) != cases[i].valid)
			fail_msg("'%s': want %d", cases[i].kid, cases[i].valid);
	assert_int_equal(valid_kid("a\0b", 3), 0);
	assert_int_equal(valid_kid("ab.cd", 2), 1);
}

/* ---- files ---- */

static void test_keyring_load(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX], missing[PATH_MAX];
	char err[PATH_MAX + 256] = "";
	const char text[] = "# keys\nk1:" KEY0 "\n";
	struct keyring ring;

	(void)state;
	unit_mkdtemp(dir);
	unit_path(path, dir, "master.key");
	unit_path(missing, dir, "missing.key");
	unit_write_file(path, text, strlen(text));
	if (keyring_load(&ring, path, err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	assert_int_equal(ring.count, 1);
	keyring_release(&ring);

	assert_int_equal(keyring_load(&ring, missing, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "unable to open"));
	assert_non_null(strstr(err, missing));

	unit_write_file(path, "k1:nope\n", 8);
	assert_int_equal(keyring_load(&ring, path, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, path)); /* names the file and the line */
	assert_non_null(strstr(err, "line 1"));
	unit_rmdir(dir);
}

/* Who else may read the file: others never (refused before it is read,
 * with the file and the remedy named), its group with a warning (the
 * caller's, from keyring_group_access). */
static void test_keyring_load_permissions(void **state)
{
	static const struct {
		mode_t mode;
		int rc, group;
	} cases[] = {
		{ 0600, GK_OK, 0 },	      { 0400, GK_OK, 0 },	    { 0700, GK_OK, 0 },
		{ 0640, GK_OK, 1 },	      { 0620, GK_OK, 1 },	    { 0610, GK_OK, 0 },
		{ 0601, GK_OK, 0 },	      { 0604, KEYRING_EXPOSED, 0 }, { 0644, KEYRING_EXPOSED, 0 },
		{ 0602, KEYRING_EXPOSED, 0 }, { 0666, KEYRING_EXPOSED, 0 },
	};
	char dir[PATH_MAX], path[PATH_MAX];
	char err[PATH_MAX + 256];
	const char text[] = "k1:" KEY0 "\n";
	struct keyring ring;

	(void)state;
	unit_mkdtemp(dir);
	unit_path(path, dir, "master.key");
	unit_write_file(path, text, strlen(text));
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int rc;

		assert_int_equal(chmod(path, cases[i].mode), 0);
		err[0] = '\0';
		rc = keyring_load(&ring, path, err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("mode %04o: %d, want %d (%s)", (unsigned)cases[i].mode, rc, cases[i].rc,
				 err);
		if (rc != GK_OK) {
			char mode[16];

			snprintf(mode, sizeof(mode), "mode %04o", (unsigned)cases[i].mode);
			assert_non_null(strstr(err, path));
			assert_non_null(strstr(err, "chmod 600"));
			assert_non_null(strstr(err, mode));
			assert_null(strstr(err, KEY0));
			continue;
		}
		assert_int_equal(ring.count, 1);
		assert_int_equal(keyring_group_access(&ring), cases[i].group);
		keyring_release(&ring);
	}
	unit_rmdir(dir);
}

/* The file cap (8 KiB) holds; exactly the cap is fine. */
static void test_keyring_load_size(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char err[PATH_MAX + 256] = "";
	size_t cap = 8192;
	char *text = unit_repeat('#', cap + 1);
	const char line[] = "\nk1:" KEY0 "\n";
	struct keyring ring;

	(void)state;
	unit_mkdtemp(dir);
	unit_path(path, dir, "master.key");
	memcpy(text + cap - strlen(line), line, strlen(line));
	unit_write_file(path, text, cap);
	if (keyring_load(&ring, path, err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	keyring_release(&ring);
	text[cap] = '\n';
	unit_write_file(path, text, cap + 1);
	assert_int_equal(keyring_load(&ring, path, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "larger than 8 KiB"));
	free(text);
	unit_rmdir(dir);
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* keygen creates the file with mode 0600 whatever the umask, holding one key
 * that loads back under the kid it reports. */
static void test_keyring_generate(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char err[PATH_MAX + 256] = "", kid[KID_MAX + 1] = "";
	struct keyring ring;
	mode_t old = umask(0);

	(void)state;
	unit_mkdtemp(dir);
	unit_path(path, dir, "master.key");
	if (keyring_generate(path, 0, kid, sizeof(kid), err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	umask(old);
	assert_int_equal(file_mode(path), 0600);
	assert_true(valid_kid(kid, strlen(kid)));
	if (keyring_load(&ring, path, err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	assert_int_equal(ring.count, 1);
	assert_string_equal(keyring_current(&ring)->kid, kid);
	keyring_release(&ring);
	unit_rmdir(dir);
}

/* keygen never overwrites: not a key file, not an empty file, not a link. */
static void test_keyring_generate_refuses_overwrite(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX], empty[PATH_MAX], link_path[PATH_MAX];
	char err[PATH_MAX + 256] = "", kid[KID_MAX + 1] = "", kid2[KID_MAX + 1] = "";
	char *before, *after;
	size_t before_len, after_len;

	(void)state;
	unit_mkdtemp(dir);
	unit_path(path, dir, "master.key");
	unit_path(empty, dir, "empty.key");
	unit_path(link_path, dir, "link.key");
	assert_int_equal(keyring_generate(path, 0, kid, sizeof(kid), err, sizeof(err)), GK_OK);
	before = unit_read_file(path, &before_len);

	assert_int_equal(keyring_generate(path, 0, kid2, sizeof(kid2), err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "already exists"));
	assert_non_null(strstr(err, path));
	after = unit_read_file(path, &after_len);
	assert_int_equal(before_len, after_len);
	assert_memory_equal(before, after, before_len);

	unit_write_file(empty, "", 0);
	assert_int_equal(keyring_generate(empty, 0, kid2, sizeof(kid2), err, sizeof(err)), GK_ERR);
	assert_int_equal(symlink(path, link_path), 0);
	assert_int_equal(keyring_generate(link_path, 0, kid2, sizeof(kid2), err, sizeof(err)), GK_ERR);
	free(after);
	after = unit_read_file(path, &after_len);
	assert_memory_equal(before, after, before_len);

	free(before);
	free(after);
	unit_rmdir(dir);
}

static void test_keyring_generate_bad_path(void **state)
{
	char err[PATH_MAX + 256] = "", kid[KID_MAX + 1] = "";

	(void)state;
	assert_int_equal(
		keyring_generate("/nonexistent-dir/gk/master.key", 0, kid, sizeof(kid), err, sizeof(err)),
		GK_ERR);
	assert_non_null(strstr(err, "unable to create"));
	assert_int_equal(
		keyring_generate("/nonexistent-dir/gk/master.key", 1, kid, sizeof(kid), err, sizeof(err)),
		GK_ERR);
	assert_non_null(strstr(err, "unable to open"));
}

/* Two generated keys differ in kid and in key bytes. */
static void test_keyring_generate_fresh(void **state)
{
	char dir[PATH_MAX], p1[PATH_MAX], p2[PATH_MAX];
	char err[PATH_MAX + 256] = "", kid1[KID_MAX + 1], kid2[KID_MAX + 1];
	struct keyring r1, r2;

	(void)state;
	unit_mkdtemp(dir);
	unit_path(p1, dir, "one.key");
	unit_path(p2, dir, "two.key");
	assert_int_equal(keyring_generate(p1, 0, kid1, sizeof(kid1), err, sizeof(err)), GK_OK);
	assert_int_equal(keyring_generate(p2, 0, kid2, sizeof(kid2), err, sizeof(err)), GK_OK);
	assert_string_not_equal(kid1, kid2);
	assert_int_equal(keyring_load(&r1, p1, err, sizeof(err)), GK_OK);
	assert_int_equal(keyring_load(&r2, p2, err, sizeof(err)), GK_OK);
	assert_memory_not_equal(r1.keys[0].key, r2.keys[0].key, MASTER_KEY_BYTES);
	keyring_release(&r1);
	keyring_release(&r2);
	unit_rmdir(dir);
}

/* --append adds a line that becomes the current key; the old keys stay. */
static void test_keyring_generate_append(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char err[PATH_MAX + 256] = "", kid1[KID_MAX + 1], kid2[KID_MAX + 1], kid3[KID_MAX + 1];
	struct keyring ring;
	unsigned char first[MASTER_KEY_BYTES];

	(void)state;
	unit_mkdtemp(dir);
	unit_path(path, dir, "master.key");
	assert_int_equal(keyring_generate(path, 0, kid1, sizeof(kid1), err, sizeof(err)), GK_OK);
	assert_int_equal(keyring_load(&ring, path, err, sizeof(err)), GK_OK);
	memcpy(first, ring.keys[0].key, sizeof(first));
	keyring_release(&ring);

	if (keyring_generate(path, 1, kid2, sizeof(kid2), err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	assert_string_not_equal(kid1, kid2);
	assert_int_equal(file_mode(path), 0600);
	if (keyring_load(&ring, path, err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	assert_int_equal(ring.count, 2);
	assert_string_equal(keyring_current(&ring)->kid, kid2);
	assert_non_null(keyring_find(&ring, kid1, strlen(kid1)));
	assert_memory_equal(keyring_find(&ring, kid1, strlen(kid1))->key, first, sizeof(first));
	keyring_release(&ring);

	assert_int_equal(keyring_generate(path, 1, kid3, sizeof(kid3), err, sizeof(err)), GK_OK);
	assert_int_equal(keyring_load(&ring, path, err, sizeof(err)), GK_OK);
	assert_int_equal(ring.count, 3);
	assert_string_equal(keyring_current(&ring)->kid, kid3);
	keyring_release(&ring);
	unit_rmdir(dir);
}

/* A hand-written key file need not end with a newline; appending must not
 * glue the new key onto its last line. */
static void test_keyring_generate_append_no_final_newline(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX];
	char err[PATH_MAX + 256] = "", kid[KID_MAX + 1];
	const char text[] = "# written by hand\nk1:" KEY0;
	struct keyring ring;

	(void)state;
	unit_mkdtemp(dir);
	unit_path(path, dir, "master.key");
	unit_write_file(path, text, strlen(text));
	if (keyring_generate(path, 1, kid, sizeof(kid), err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	if (keyring_load(&ring, path, err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	assert_int_equal(ring.count, 2);
	assert_non_null(keyring_find(&ring, "k1", 2));
	assert_key0(keyring_find(&ring, "k1", 2)->key);
	assert_string_equal(keyring_current(&ring)->kid, kid);
	keyring_release(&ring);

	/* appending to an empty file gives a file with just the new key */
	unit_write_file(path, "", 0);
	assert_int_equal(keyring_generate(path, 1, kid, sizeof(kid), err, sizeof(err)), GK_OK);
	assert_int_equal(keyring_load(&ring, path, err, sizeof(err)), GK_OK);
	assert_int_equal(ring.count, 1);
	keyring_release(&ring);
	unit_rmdir(dir);
}

/* As main() does before anything touches a key. */
static int init_sodium(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyring_parse_one),
		cmocka_unit_test(test_keyring_parse_layout),
		cmocka_unit_test(test_keyring_parse_errors),
		cmocka_unit_test(test_keyring_kid_limits),
		cmocka_unit_test(test_keyring_max_keys),
		cmocka_unit_test(test_valid_kid),
		cmocka_unit_test(test_keyring_load),
		cmocka_unit_test(test_keyring_load_size),
		cmocka_unit_test(test_keyring_load_permissions),
		cmocka_unit_test(test_keyring_generate),
		cmocka_unit_test(test_keyring_generate_refuses_overwrite),
		cmocka_unit_test(test_keyring_generate_bad_path),
		cmocka_unit_test(test_keyring_generate_fresh),
		cmocka_unit_test(test_keyring_generate_append),
		cmocka_unit_test(test_keyring_generate_append_no_final_newline),
	};

	return cmocka_run_group_tests_name("keyring", tests, init_sodium, NULL);
}
