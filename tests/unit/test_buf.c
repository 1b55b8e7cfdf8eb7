/* test_buf.c: the capped buffer and the capped whole-file reader. */
#include "unit.h"

#include "buf.h"
#include "status.h"

/* Additions up to the cap succeed; one byte more is GK_TOOBIG and leaves
 * the content as it was. */
static void test_buf_cap(void **state)
{
	struct buf b;
	char *big = unit_repeat('x', 5000);

	(void)state;
	buf_init(&b, 5000);
	assert_int_equal(buf_add(&b, "", 0), GK_OK);
	assert_non_null(b.data);
	assert_string_equal(b.data, "");
	assert_int_equal(buf_add(&b, big, 4999), GK_OK);
	assert_int_equal(buf_add(&b, "yz", 2), GK_TOOBIG);
	assert_int_equal(b.len, 4999);
	assert_int_equal(b.data[4999], '\0');
	assert_int_equal(buf_add(&b, "y", 1), GK_OK);
	assert_int_equal(b.len, 5000);
	assert_int_equal(b.data[4999], 'y');
	assert_int_equal(b.data[5000], '\0');
	assert_true(b.size <= b.cap + 1);
	assert_int_equal(buf_add(&b, "z", 1), GK_TOOBIG);
	assert_int_equal(buf_reserve(&b, 0), GK_OK);
	assert_int_equal(buf_reserve(&b, SIZE_MAX), GK_TOOBIG);
	buf_release(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	assert_int_equal(b.cap, 5000); /* usable again */
	assert_int_equal(buf_add(&b, "ab", 2), GK_OK);
	assert_string_equal(b.data, "ab");
	buf_release(&b);
	free(big);
}

/* Many small additions keep every byte, in order. */
static void test_buf_growth(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 1 << 20);
	for (int i = 0; i < 100000; i++) {
		char c = (char)('a' + i % 26);

		assert_int_equal(buf_add(&b, &c, 1), GK_OK);
	}
	assert_int_equal(b.len, 100000);
	for (size_t i = 0; i < b.len; i++)
		if (b.data[i] != (char)('a' + i % 26))
			fail_msg("byte %zu is '%c'", i, b.data[i]);
	buf_truncate(&b, 3);
	assert_string_equal(b.data, "abc");
	buf_release(&b);
}

static void test_buf_size_text(void **state)
{
	char out[BUF_SIZE_TEXT_MAX];

	(void)state;
	assert_string_equal(buf_size_text(64 * 1024, out, sizeof(out)), "64 KiB");
	assert_string_equal(buf_size_text(1024 * 1024, out, sizeof(out)), "1 MiB");
	assert_string_equal(buf_size_text(256 * 1024, out, sizeof(out)), "256 KiB");
	assert_string_equal(buf_size_text(1000, out, sizeof(out)), "1000 bytes");
	assert_string_equal(buf_size_text(1536 * 1024, out, sizeof(out)), "1536 KiB");
}

/* A file of exactly the cap is read whole; one byte more is refused with
 * the cap in the message; a missing file says so. */
static void test_buf_read_file(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX], err[256];
	size_t sizes[] = { 0, 1, 16383, 16384, 16385, 40000 };
	struct stat st;
	struct buf b;

	(void)state;
	unit_mkdtemp(dir);
	unit_path(path, dir, "f");
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		char *data = unit_repeat('k', sizes[i]);

		unit_write_file(path, data, sizes[i]);
		buf_init(&b, sizes[i]);
		assert_int_equal(buf_read_file(&b, path, &st, err, sizeof(err)), GK_OK);
		assert_int_equal(b.len, sizes[i]);
		assert_int_equal(st.st_size, (off_t)sizes[i]);
		if (sizes[i])
			assert_memory_equal(b.data, data, sizes[i]);
		buf_release(&b);
		if (sizes[i]) {
			buf_init(&b, sizes[i] - 1);
			assert_int_equal(buf_read_file(&b, path, NULL, err, sizeof(err)), GK_ERR);
			assert_non_null(strstr(err, "larger than"));
			assert_non_null(strstr(err, path));
			buf_release(&b);
		}
		free(data);
	}
	unit_path(path, dir, "missing");
	buf_init(&b, 10);
	assert_int_equal(buf_read_file(&b, path, NULL, err, sizeof(err)), GK_ERR);
	assert_non_null(strstr(err, "unable to open"));
	buf_release(&b);
	unit_rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_buf_growth),
		cmocka_unit_test(test_buf_size_text),
		cmocka_unit_test(test_buf_read_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
