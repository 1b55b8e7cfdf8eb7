/* test_envkeys.c: the system-wide keys (product spec 4.5): the process
 * environment, overridden by GOFANNON_ENV_FILE; "" counts as unset. */
#include "unit.h"

#include "envkeys.h"
#include "registry.h"
#include "status.h"

/* Names nobody's environment has; c has no system key, d shares a's. */
static const char registry_json[] =
	"{\"providers\":["
	"{\"id\":\"a\",\"name\":\"A\",\"envVar\":\"GKTEST_A_KEY\",\"wireStyle\":\"openai\","
	"\"baseUrl\":\"https://a\"},"
	"{\"id\":\"b\",\"name\":\"B\",\"envVar\":\"GKTEST_B_KEY\",\"wireStyle\":\"openai\","
	"\"baseUrl\":\"https://b\"},"
	"{\"id\":\"c\",\"name\":\"C\",\"wireStyle\":\"openai\",\"baseUrl\":\"https://c\"},"
	"{\"id\":\"d\",\"name\":\"D\",\"envVar\":\"GKTEST_A_KEY\",\"wireStyle\":\"openai\","
	"\"baseUrl\":\"https://d\"}"
	"]}";

#define A "GKTEST_A_KEY"
#define B "GKTEST_B_KEY"

struct fixture {
	struct registry reg;
	char dir[PATH_MAX];
	char file[PATH_MAX];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256];

	assert_non_null(f);
	assert_int_equal(registry_parse(&f->reg, registry_json, strlen(registry_json), err, sizeof(err)),
			 GK_OK);
	unit_mkdtemp(f->dir);
	unit_path(f->file, f->dir, "env");
	unsetenv(A);
	unsetenv(B);
	unsetenv("GKTEST_UNRELATED");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	registry_release(&f->reg);
	unit_rmdir(f->dir);
	free(f);
	unsetenv(A);
	unsetenv(B);
	unsetenv("GKTEST_UNRELATED");
	return 0;
}

/* Loads with the file holding text (NULL: no file). */
static int load(struct fixture *f, struct envkeys *keys, const char *text, char *err, size_t errlen)
{
	if (text)
		unit_write_file(f->file, text, strlen(text));
	return envkeys_load(keys, &f->reg, text ? f->file : NULL, err, errlen);
}

static void test_envkeys_process_env(void **state)
{
	struct fixture *f = *state;
	struct envkeys keys;
	char err[256] = "";

	assert_int_equal(setenv(A, "sk-from-env", 1), 0);
	assert_int_equal(load(f, &keys, NULL, err, sizeof(err)), GK_OK);
	assert_string_equal(envkeys_get(&keys, A), "sk-from-env");
	assert_null(envkeys_get(&keys, B));
	assert_null(envkeys_get(&keys, "GKTEST_UNRELATED"));
	assert_null(envkeys_get(&keys, NULL));
	assert_null(envkeys_get(&keys, "gktest_a_key")); /* names are case-sensitive */
	/* one entry per distinct variable: d shares a's */
	assert_int_equal(keys.count, 2);
	envkeys_release(&keys);
	assert_null(keys.items);
	assert_int_equal(keys.count, 0);
}

/* A variable set to the empty string counts as unset. */
static void test_envkeys_empty_is_unset(void **state)
{
	struct fixture *f = *state;
	struct envkeys keys;
	char err[256] = "";

	assert_int_equal(setenv(A, "", 1), 0);
	assert_int_equal(load(f, &keys, NULL, err, sizeof(err)), GK_OK);
	assert_null(envkeys_get(&keys, A));
	envkeys_release(&keys);
}

/* A case is data: the environment, the file, what each key must be. */
struct file_case {
	const char *env_a, *env_b; /* NULL: unset */
	const char *file;
	const char *want_a, *want_b; /* NULL: no key */
};

static const struct file_case file_cases[] = {
	/* the file overrides the environment and fills gaps */
	{ "env-a", NULL, A "=file-a\n", "file-a", NULL },
	{ "env-a", NULL, B "=file-b\n", "env-a", "file-b" },
	{ "env-a", "env-b", "", "env-a", "env-b" },
	{ NULL, NULL, "# nothing here\n\n", NULL, NULL },
	/* NAME= unsets, whatever the environment says */
	{ "env-a", "env-b", A "=\n", NULL, "env-b" },
	{ "env-a", NULL, A "=\"\"\n", NULL, NULL },
	{ "env-a", NULL, A "=''\n", NULL, NULL },
	/* the last line for a name wins */
	{ NULL, NULL, A "=one\n" A "=two\n", "two", NULL },
	{ "env-a", NULL, A "=\n" A "=back\n", "back", NULL },
	/* quotes */
	{ NULL, NULL, A "=\"quoted value\"\n", "quoted value", NULL },
	{ NULL, NULL, A "='single'\n", "single", NULL },
	{ NULL, NULL, A "=\"mismatched'\n", "\"mismatched'", NULL },
	{ NULL, NULL, A "=\"\n", "\"", NULL },
	{ NULL, NULL, A "=\"a\"b\"\n", "a\"b", NULL },
	{ NULL, NULL, A "=x\"\n", "x\"", NULL },
	/* export prefix, as in a shell file */
	{ NULL, NULL, "export " A "=exported\n", "exported", NULL },
	{ NULL, NULL, "  export " A "=\"both\"\n", "both", NULL },
	/* comments, blank lines, whitespace, CRLF, no final newline */
	{ NULL, NULL, "# " A "=commented\n", NULL, NULL },
	{ NULL, NULL, "   # " A "=commented\n\t\n", NULL, NULL },
	{ NULL, NULL, "\n\n" A "=after-blanks", "after-blanks", NULL },
	{ NULL, NULL, A "=crlf\r\n" B "=crlf-b\r\n", "crlf", "crlf-b" },
	{ NULL, NULL, "  " A "=indented  \t\n", "indented", NULL },
	/* blanks around '=' belong to neither side, as systemd reads them */
	{ NULL, NULL, A " = spaced\n", "spaced", NULL },
	{ NULL, NULL, A "\t=\t\"quoted \"\n", "quoted ", NULL },
	{ "env-a", NULL, A " =   \n", NULL, NULL },
	{ NULL, NULL, A "=no-newline", "no-newline", NULL },
	/* values keep what is inside them */
	{ NULL, NULL, A "=a=b=c\n", "a=b=c", NULL },
	{ NULL, NULL, A "=sk-#not-a-comment\n", "sk-#not-a-comment", NULL },
	/* names that are not provider keys are ignored, even odd ones */
	{ "env-a", NULL, "PATH=/evil\nGKTEST_UNRELATED=1\nOTHER SETTING=x\nlower=1\n", "env-a", NULL },
	{ NULL, NULL, A "X=nope\nX" A "=nope\n", NULL, NULL },
	{ NULL, NULL, "gktest_a_key=nope\n", NULL, NULL },
};

static void test_envkeys_file_table(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < ARRAY_SIZE(file_cases); i++) {
		const struct file_case *c = &file_cases[i];
		struct envkeys keys;
		char err[PATH_MAX + 256] = "";
		const char *a, *b;

		if (c->env_a)
			setenv(A, c->env_a, 1);
		else
			unsetenv(A);
		if (c->env_b)
			setenv(B, c->env_b, 1);
		else
			unsetenv(B);
		if (load(f, &keys, c->file, err, sizeof(err)) != GK_OK)
			fail_msg("case %zu: %s", i, err);
		a = envkeys_get(&keys, A);
		b = envkeys_get(&keys, B);
		if (!(a == c->want_a || (a && c->want_a && strcmp(a, c->want_a) == 0)))
			fail_msg("case %zu: %s is '%s', want '%s'", i, A, a ? a : "(unset)",
				 c->want_a ? c->want_a : "(unset)");
		if (!(b == c->want_b || (b && c->want_b && strcmp(b, c->want_b) == 0)))
			fail_msg("case %zu: %s is '%s', want '%s'", i, B, b ? b : "(unset)",
				 c->want_b ? c->want_b : "(unset)");
		envkeys_release(&keys);
	}
	unsetenv(A);
	unsetenv(B);
}

struct malformed_case {
	const char *text;
	unsigned line;
};

static const struct malformed_case malformed_cases[] = {
	{ "garbage\n", 1 },	    { A "=ok\n\n# c\nsk-SECRETVALUE\n", 4 },
	{ "=value\n", 1 },	    { "export\n", 1 },
	{ A "=ok\r\n  =x\r\n", 2 },
};

/* A malformed line is an error that names the line and never quotes it
 * (it may well be a key pasted on its own). */
static void test_envkeys_malformed(void **state)
{
	struct fixture *f = *state;

	for (size_t i = 0; i < ARRAY_SIZE(malformed_cases); i++) {
		const struct malformed_case *c = &malformed_cases[i];
		struct envkeys keys;
		char err[PATH_MAX + 256] = "";
		char want[32];

		if (load(f, &keys, c->text, err, sizeof(err)) != GK_ERR)
			fail_msg("case %zu accepted", i);
		snprintf(want, sizeof(want), "line %u:", c->line);
		if (!strstr(err, want) || !strstr(err, "NAME=value"))
			fail_msg("case %zu: '%s' does not say '%s'", i, err, want);
		assert_non_null(strstr(err, f->file)); /* the file is named */
		assert_null(strstr(err, "SECRET"));
		assert_null(keys.items); /* released on error */
	}
}

/* A NUL byte in a value line is refused: as a C string the value would be
 * cut short, and "NAME=<NUL>..." would leave "" that looks like a key
 * (found by fuzz_envkeys). */
static void test_envkeys_nul_byte(void **state)
{
	struct fixture *f = *state;
	struct envkeys keys;
	char err[PATH_MAX + 256] = "";
	const char starts[] = A "=\0sk-rest\n";
	const char inside[] = "# ok\n" A "=sk-a\0bc\n";
	const char comment[] = "# a comment \0 with a NUL\n" A "=sk-a\n";

	assert_int_equal(load(f, &keys, NULL, err, sizeof(err)), GK_OK);
	assert_int_equal(envkeys_apply_text(&keys, starts, sizeof(starts) - 1, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "line 1"));
	assert_null(envkeys_get(&keys, A));
	assert_int_equal(envkeys_apply_text(&keys, inside, sizeof(inside) - 1, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "line 2"));
	assert_int_equal(envkeys_apply_text(&keys, comment, sizeof(comment) - 1, err, sizeof(err)), GK_OK);
	assert_string_equal(envkeys_get(&keys, A), "sk-a");
	envkeys_release(&keys);

	/* the same through a file */
	unit_write_file(f->file, starts, sizeof(starts) - 1);
	assert_int_equal(envkeys_load(&keys, &f->reg, f->file, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "NUL"));
}

/* envkeys_apply_text on its own: the same rules, without a file. */
static void test_envkeys_apply_text(void **state)
{
	struct fixture *f = *state;
	struct envkeys keys;
	char err[256] = "";
	const char text[] = B "=from-text\n" A "=";

	assert_int_equal(setenv(A, "env-a", 1), 0);
	assert_int_equal(load(f, &keys, NULL, err, sizeof(err)), GK_OK);
	assert_int_equal(envkeys_apply_text(&keys, text, strlen(text), err, sizeof(err)), GK_OK);
	assert_string_equal(envkeys_get(&keys, B), "from-text");
	assert_null(envkeys_get(&keys, A));
	/* len bounds the text */
	assert_int_equal(envkeys_apply_text(&keys, A "=abcdef", strlen(A) + 4, err, sizeof(err)), GK_OK);
	assert_string_equal(envkeys_get(&keys, A), "abc");
	assert_int_equal(envkeys_apply_text(&keys, "", 0, err, sizeof(err)), GK_OK);
	assert_string_equal(envkeys_get(&keys, A), "abc");
	assert_int_equal(envkeys_apply_text(&keys, "bad", 3, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "line 1"));
	envkeys_release(&keys);
}

static void test_envkeys_missing_file(void **state)
{
	struct fixture *f = *state;
	struct envkeys keys;
	char path[PATH_MAX], err[PATH_MAX + 256] = "";

	unit_path(path, f->dir, "no-such-file");
	assert_int_equal(envkeys_load(&keys, &f->reg, path, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "unable to open"));
	assert_non_null(strstr(err, path));
	assert_null(keys.items);
}

/* The file size cap (256 KiB) holds; exactly the cap is fine. */
static void test_envkeys_file_size(void **state)
{
	struct fixture *f = *state;
	struct envkeys keys;
	char err[PATH_MAX + 256] = "";
	char *text = unit_repeat('#', ENV_FILE_MAX + 1);
	const char line[] = A "=at-the-end";

	memcpy(text + ENV_FILE_MAX - strlen(line), line, strlen(line));
	text[ENV_FILE_MAX - strlen(line) - 1] = '\n';
	unit_write_file(f->file, text, ENV_FILE_MAX);
	if (envkeys_load(&keys, &f->reg, f->file, err, sizeof(err)) != GK_OK)
		fail_msg("%s", err);
	assert_string_equal(envkeys_get(&keys, A), "at-the-end");
	envkeys_release(&keys);

	text[ENV_FILE_MAX] = '\n';
	unit_write_file(f->file, text, ENV_FILE_MAX + 1);
	assert_int_equal(envkeys_load(&keys, &f->reg, f->file, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "256 KiB"));
	free(text);
}

/* SIGHUP re-reads the file: a second load sees the new value, and the old
 * keys are independent of the new ones. */
static void test_envkeys_reload(void **state)
{
	struct fixture *f = *state;
	struct envkeys before, after;
	char err[PATH_MAX + 256] = "";

	assert_int_equal(load(f, &before, A "=old\n", err, sizeof(err)), GK_OK);
	assert_int_equal(load(f, &after, A "=new\n", err, sizeof(err)), GK_OK);
	assert_string_equal(envkeys_get(&before, A), "old");
	assert_string_equal(envkeys_get(&after, A), "new");
	envkeys_release(&before);
	assert_string_equal(envkeys_get(&after, A), "new");
	envkeys_release(&after);
}

/* A registry without any envVar gives an empty, usable set. */
static void test_envkeys_no_env_vars(void **state)
{
	const char *json = "{\"providers\":[{\"id\":\"c\",\"name\":\"C\",\"wireStyle\":\"openai\","
			   "\"baseUrl\":\"https://c\"}]}";
	struct registry reg;
	struct envkeys keys;
	char err[256] = "";

	(void)state;
	assert_int_equal(registry_parse(&reg, json, strlen(json), err, sizeof(err)), GK_OK);
	assert_int_equal(envkeys_load(&keys, &reg, NULL, err, sizeof(err)), GK_OK);
	assert_int_equal(keys.count, 0);
	assert_null(envkeys_get(&keys, A));
	assert_int_equal(envkeys_apply_text(&keys, A "=x\n", strlen(A) + 3, err, sizeof(err)), GK_OK);
	assert_null(envkeys_get(&keys, A));
	envkeys_release(&keys);
	registry_release(&reg);
}

/* envkeys_of() finds each provider's key through the entry found at load,
 * not by a search of the names per request (what kept GET /api/providers
 * quadratic in the number of providers): with the names changed after
 * load, a search no longer finds them, the index still does. A provider
 * from elsewhere falls back to the search; values set later are seen. */
static void test_envkeys_of_by_index(void **state)
{
	struct fixture *f = *state;
	struct envkeys keys;
	struct provider stranger;
	const char *names[4];
	char err[256] = "";

	assert_int_equal(setenv(A, "env-a", 1), 0);
	assert_int_equal(load(f, &keys, B "=file-b\n", err, sizeof(err)), GK_OK);
	assert_int_equal(f->reg.count, 4);
	for (size_t i = 0; i < f->reg.count; i++) {
		const struct provider *p = &f->reg.providers[i];
		const char *want = p->env_var ? envkeys_get(&keys, p->env_var) : NULL;

		if (want)
			assert_string_equal(envkeys_of(&keys, p), want);
		else
			assert_null(envkeys_of(&keys, p));
	}
	assert_string_equal(envkeys_of(&keys, &f->reg.providers[3]), "env-a"); /* d shares a's */
	assert_null(envkeys_of(&keys, &f->reg.providers[2]));		       /* c has none */

	for (size_t k = 0; k < keys.count; k++) {
		names[k] = keys.items[k].name;
		keys.items[k].name = "GKTEST_RENAMED";
	}
	assert_null(envkeys_get(&keys, A));
	assert_string_equal(envkeys_of(&keys, &f->reg.providers[0]), "env-a");
	assert_string_equal(envkeys_of(&keys, &f->reg.providers[1]), "file-b");
	for (size_t k = 0; k < keys.count; k++)
		keys.items[k].name = names[k];

	stranger = f->reg.providers[1];
	assert_string_equal(envkeys_of(&keys, &stranger), "file-b");
	assert_int_equal(envkeys_apply_text(&keys, B "=later", strlen(B) + 6, err, sizeof(err)), GK_OK);
	assert_string_equal(envkeys_of(&keys, &f->reg.providers[1]), "later");
	envkeys_release(&keys);
	assert_null(keys.by_provider);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_envkeys_process_env, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envkeys_empty_is_unset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envkeys_file_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envkeys_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envkeys_nul_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envkeys_apply_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envkeys_missing_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envkeys_file_size, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envkeys_reload, setup, teardown),
		cmocka_unit_test(test_envkeys_no_env_vars),
		cmocka_unit_test_setup_teardown(test_envkeys_of_by_index, setup, teardown),
	};

	return cmocka_run_group_tests_name("envkeys", tests, NULL, NULL);
}
