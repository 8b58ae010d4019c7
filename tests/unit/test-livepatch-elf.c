/*
 * The ELF reader and the differ on objects the fuzz targets corrupted, replayed from the
 * committed seeds (FUZZ_CORPUS is fuzz/corpus): each is refused with one message naming what
 * is wrong, and nothing is written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "livepatch/diff.h"
#include "livepatch/elf.h"
#include "log.h"
#include "strbuf.h"

static char logged[512];

static void capture(enum tt_log_level level, const char *msg, void *userdata)
{
	if (level <= TT_LOG_ERR && !logged[0])
		snprintf(logged, sizeof(logged), "%s", msg);
}

/* A seed of fuzz-livepatch-markers: a u32 length, the original object, the patched one. */
static char *seed(const char *name, size_t *ret_len)
{
	const char *dir = getenv("FUZZ_CORPUS");
	_cleanup_free_ char *path = NULL;
	char *buf;

	assert_non_null(dir);
	path = strdup_printf("%s/livepatch-markers/%s", dir, name);
	assert_int_equal(read_file_capped(path, 1 << 20, &buf, ret_len), 0);
	return buf;
}

/* The symbol table entry named NAME in the object at OBJ. */
static Elf64_Sym *find_sym(uint8_t *obj, size_t len, const char *name)
{
	const Elf64_Ehdr *eh = (const Elf64_Ehdr *)obj;
	const Elf64_Shdr *sh = (const Elf64_Shdr *)(obj + eh->e_shoff);

	assert_true(eh->e_shoff + eh->e_shnum * sizeof(*sh) <= len);
	for (size_t i = 0; i < eh->e_shnum; i++) {
		const char *strs;

		if (sh[i].sh_type != SHT_SYMTAB)
			continue;
		strs = (const char *)obj + sh[sh[i].sh_link].sh_offset;
		for (size_t k = 1; k < sh[i].sh_size / sizeof(Elf64_Sym); k++) {
			Elf64_Sym *s = (Elf64_Sym *)(obj + sh[i].sh_offset) + k;

			if (strcmp(strs + s->st_name, name) == 0)
				return s;
		}
	}
	fail_msg("no symbol '%s'", name);
	return NULL;
}

/*
 * fuzz-livepatch-markers found: a function symbol whose name is empty (its st_name moved to
 * a NUL byte of the string table) was taken by the differ as a new function "" and, being a
 * post-unpatch callback, reported as "post_unpatch " and carried. The same corruption of the
 * seed's tt_post_unpatch is now refused by the reader, before any diff.
 */
static void test_unnamed_function(void **state)
{
	struct lp_diff_report *rep = NULL;
	struct lp_elf *e = NULL;
	size_t len;
	_cleanup_free_ char *buf = seed("markers", &len);
	uint32_t n;
	uint8_t *orig, *patched;
	Elf64_Sym *s;

	memcpy(&n, buf, 4);
	assert_true(n < len - 4);
	orig = (uint8_t *)buf + 4;
	patched = orig + n;
	/* the seed itself diffs, with the four callbacks */
	assert_int_equal(lp_diff_mem(orig, n, patched, len - 4 - n, NULL, NULL, &rep),
			 LP_DIFF_WRITTEN);
	assert_int_equal(rep->ncallbacks, 4);
	lp_diff_report_free(rep);
	rep = NULL;

	s = find_sym(patched, len - 4 - n, "tt_post_unpatch");
	assert_int_equal(ELF64_ST_TYPE(s->st_info), STT_FUNC);
	s->st_name = 0; /* "" */
	tt_log_set(capture, NULL, TT_LOG_ERR);
	logged[0] = '\0';
	assert_int_equal(lp_elf_parse(patched, len - 4 - n, "patched.o", &e), -EBADMSG);
	assert_null(e);
	assert_non_null(strstr(logged, "'patched.o'"));
	assert_non_null(strstr(logged, "a function without a name"));
	assert_int_equal(lp_diff_mem(orig, n, patched, len - 4 - n, NULL, NULL, &rep), -EBADMSG);
	assert_null(rep);
	tt_log_set(NULL, NULL, TT_LOG_WARN);
}

/*
 * fuzz-livepatch-markers found: a function symbol shorter than its code (tt_post_unpatch's
 * st_size 27 made 19) whose last relocation, at offset 18, then ran 3 bytes past the copy
 * the differ writes; the module builder's reader refused the differ's own output
 * ("'.rela.text.tt_post_unpatch' entry 1: offset 18 (4 bytes) is outside
 * '.text.tt_post_unpatch' (19 bytes)"). The differ now refuses the input.
 */
static void test_relocation_past_function(void **state)
{
	char out[] = "/tmp/test-lp-elf-XXXXXX";
	struct lp_diff_report *rep = NULL;
	size_t len;
	_cleanup_free_ char *buf = seed("markers", &len);
	uint32_t n;
	uint8_t *orig, *patched;
	Elf64_Sym *s;
	int fd;

	memcpy(&n, buf, 4);
	orig = (uint8_t *)buf + 4;
	patched = orig + n;
	s = find_sym(patched, len - 4 - n, "tt_post_unpatch");
	assert_int_equal(s->st_size, 27);
	s->st_size = 19;
	fd = mkstemp(out);
	assert_true(fd >= 0);
	close(fd);
	unlink(out);
	tt_log_set(capture, NULL, TT_LOG_ERR);
	logged[0] = '\0';
	assert_int_equal(lp_diff_mem(orig, n, patched, len - 4 - n, NULL, out, &rep), -EBADMSG);
	assert_null(rep);
	assert_non_null(strstr(logged, "function 'tt_post_unpatch': the relocation at offset 18 "
					"of '.text.tt_post_unpatch' runs past its end (19 bytes)"));
	assert_int_equal(access(out, F_OK), -1);
	tt_log_set(NULL, NULL, TT_LOG_WARN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unnamed_function),
		cmocka_unit_test(test_relocation_past_function),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
