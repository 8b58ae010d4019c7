/* CVSS v3.0/v3.1 base scores (the specifications' formulas) and CVSS v4.0 scores (the
 * MacroVector method of the v4.0 specification, section 8), from a vector string. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cvss.h"
#include "macro.h"

#include "banned.h"

/* ---- metric tables ------------------------------------------------------------------- */

struct metric_def {
	const char *name;
	const char *const *values; /* NULL-terminated; scoring code indexes into this order */
	bool mandatory;
};

#define VALUES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* clang-format off */
enum {
	M3_AV, M3_AC, M3_PR, M3_UI, M3_S, M3_C, M3_I, M3_A,
	M3_E, M3_RL, M3_RC,
	M3_CR, M3_IR, M3_AR, M3_MAV, M3_MAC, M3_MPR, M3_MUI, M3_MS, M3_MC, M3_MI, M3_MA,
	M3_COUNT
};
/* clang-format on */

/* CVSS v3.0 and v3.1 define the same metrics and values (v3.1 specification, section 6). */
static const struct metric_def v3_metrics[M3_COUNT] = {
	[M3_AV] = {"AV", VALUES("N", "A", "L", "P"), true},
	[M3_AC] = {"AC", VALUES("L", "H"), true},
	[M3_PR] = {"PR", VALUES("N", "L", "H"), true},
	[M3_UI] = {"UI", VALUES("N", "R"), true},
	[M3_S] = {"S", VALUES("U", "C"), true},
	[M3_C] = {"C", VALUES("H", "L", "N"), true},
	[M3_I] = {"I", VALUES("H", "L", "N"), true},
	[M3_A] = {"A", VALUES("H", "L", "N"), true},
	[M3_E] = {"E", VALUES("X", "U", "P", "F", "H"), false},
	[M3_RL] = {"RL", VALUES("X", "O", "T", "W", "U"), false},
	[M3_RC] = {"RC", VALUES("X", "U", "R", "C"), false},
	[M3_CR] = {"CR", VALUES("X", "L", "M", "H"), false},
	[M3_IR] = {"IR", VALUES("X", "L", "M", "H"), false},
	[M3_AR] = {"AR", VALUES("X", "L", "M", "H"), false},
	[M3_MAV] = {"MAV", VALUES("X", "N", "A", "L", "P"), false},
	[M3_MAC] = {"MAC", VALUES("X", "L", "H"), false},
	[M3_MPR] = {"MPR", VALUES("X", "N", "L", "H"), false},
	[M3_MUI] = {"MUI", VALUES("X", "N", "R"), false},
	[M3_MS] = {"MS", VALUES("X", "U", "C"), false},
	[M3_MC] = {"MC", VALUES("X", "N", "L", "H"), false},
	[M3_MI] = {"MI", VALUES("X", "N", "L", "H"), false},
	[M3_MA] = {"MA", VALUES("X", "N", "L", "H"), false},
};

/* clang-format off */
enum {
	/* base; the modified metrics below follow in the same order (M4_MAV + i) */
	M4_AV, M4_AC, M4_AT, M4_PR, M4_UI, M4_VC, M4_VI, M4_VA, M4_SC, M4_SI, M4_SA,
	M4_E,
	M4_CR, M4_IR, M4_AR,
	M4_MAV, M4_MAC, M4_MAT, M4_MPR, M4_MUI, M4_MVC, M4_MVI, M4_MVA, M4_MSC, M4_MSI, M4_MSA,
	M4_S, M4_AU, M4_R, M4_V, M4_RE, M4_U,
	M4_COUNT
};
/* clang-format on */

/* CVSS v4.0 specification, section 7 (table 23). */
static const struct metric_def v4_metrics[M4_COUNT] = {
	[M4_AV] = {"AV", VALUES("N", "A", "L", "P"), true},
	[M4_AC] = {"AC", VALUES("L", "H"), true},
	[M4_AT] = {"AT", VALUES("N", "P"), true},
	[M4_PR] = {"PR", VALUES("N", "L", "H"), true},
	[M4_UI] = {"UI", VALUES("N", "P", "A"), true},
	[M4_VC] = {"VC", VALUES("H", "L", "N"), true},
	[M4_VI] = {"VI", VALUES("H", "L", "N"), true},
	[M4_VA] = {"VA", VALUES("H", "L", "N"), true},
	[M4_SC] = {"SC", VALUES("H", "L", "N"), true},
	[M4_SI] = {"SI", VALUES("H", "L", "N"), true},
	[M4_SA] = {"SA", VALUES("H", "L", "N"), true},
	[M4_E] = {"E", VALUES("X", "A", "P", "U"), false},
	[M4_CR] = {"CR", VALUES("X", "H", "M", "L"), false},
	[M4_IR] = {"IR", VALUES("X", "H", "M", "L"), false},
	[M4_AR] = {"AR", VALUES("X", "H", "M", "L"), false},
	[M4_MAV] = {"MAV", VALUES("X", "N", "A", "L", "P"), false},
	[M4_MAC] = {"MAC", VALUES("X", "L", "H"), false},
	[M4_MAT] = {"MAT", VALUES("X", "N", "P"), false},
	[M4_MPR] = {"MPR", VALUES("X", "N", "L", "H"), false},
	[M4_MUI] = {"MUI", VALUES("X", "N", "P", "A"), false},
	[M4_MVC] = {"MVC", VALUES("X", "H", "L", "N"), false},
	[M4_MVI] = {"MVI", VALUES("X", "H", "L", "N"), false},
	[M4_MVA] = {"MVA", VALUES("X", "H", "L", "N"), false},
	[M4_MSC] = {"MSC", VALUES("X", "H", "L", "N"), false},
	[M4_MSI] = {"MSI", VALUES("X", "S", "H", "L", "N"), false},
	[M4_MSA] = {"MSA", VALUES("X", "S", "H", "L", "N"), false},
	[M4_S] = {"S", VALUES("X", "N", "P"), false},
	[M4_AU] = {"AU", VALUES("X", "N", "Y"), false},
	[M4_R] = {"R", VALUES("X", "A", "U", "I"), false},
	[M4_V] = {"V", VALUES("X", "D", "C"), false},
	[M4_RE] = {"RE", VALUES("X", "L", "M", "H"), false},
	[M4_U] = {"U", VALUES("X", "Clear", "Green", "Amber", "Red"), false},
};

/* ---- errors ---------------------------------------------------------------------------- */

/* Messages quote parts of the input, so they cannot be string literals; one buffer per
 * thread keeps cvss_compute() reentrant without making the caller free anything. */
static _Thread_local char error_buf[160];

/* Copies at most 24 bytes of untrusted text, printable, with "..." when cut. */
static void quote_untrusted(char *dst, size_t size, const char *s, size_t len)
{
	size_t max = MIN(len, (size_t)24), i;

	for (i = 0; i < max && i + 4 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	dst[i] = '\0';
	if (i < len && i + 4 <= size)
		memcpy(dst + i, "...", 4);
}

static int fail(const char **ret_error, const char *fmt, ...) _printf_(2, 3);
static int fail(const char **ret_error, const char *fmt, ...)
{
	va_list ap;

	if (ret_error) {
		va_start(ap, fmt);
		vsnprintf(error_buf, sizeof(error_buf), fmt, ap);
		va_end(ap);
		*ret_error = error_buf;
	}
	return -EINVAL;
}

/* ---- parsing --------------------------------------------------------------------------- */

/* Parses "NAME:VALUE/NAME:VALUE..." (P is what follows the prefix's '/') into VALS, one
 * index into the metric's value list per metric, -1 where the metric is absent. */
static int parse_metrics(const char *p, const struct metric_def *defs, size_t n, int *vals,
			 const char **ret_error)
{
	char q[32];

	for (size_t i = 0; i < n; i++)
		vals[i] = -1;

	if (*p == '\0')
		return fail(ret_error, "no metrics after the version prefix");

	for (;;) {
		const char *end = strchrnul(p, '/');
		const char *colon = memchr(p, ':', (size_t)(end - p));
		const char *value;
		size_t name_len, value_len, m, v;

		if (end == p)
			return fail(ret_error, *end ? "empty metric ('//') in vector"
						    : "trailing '/' after the last metric");
		if (!colon) {
			quote_untrusted(q, sizeof(q), p, (size_t)(end - p));
			return fail(ret_error, "malformed metric '%s' (expected NAME:VALUE)", q);
		}
		name_len = (size_t)(colon - p);
		value = colon + 1;
		value_len = (size_t)(end - value);

		for (m = 0; m < n; m++)
			if (strlen(defs[m].name) == name_len &&
			    memcmp(defs[m].name, p, name_len) == 0)
				break;
		if (m == n) {
			quote_untrusted(q, sizeof(q), p, name_len);
			return fail(ret_error, "unknown metric '%s'", q);
		}
		if (vals[m] >= 0)
			return fail(ret_error, "duplicate metric '%s'", defs[m].name);

		for (v = 0; defs[m].values[v]; v++)
			if (strlen(defs[m].values[v]) == value_len &&
			    memcmp(defs[m].values[v], value, value_len) == 0)
				break;
		if (!defs[m].values[v]) {
			quote_untrusted(q, sizeof(q), value, value_len);
			return fail(ret_error, "unknown value '%s' for metric '%s'", q,
				    defs[m].name);
		}
		vals[m] = (int)v;

		if (*end == '\0')
			break;
		p = end + 1;
	}

	for (size_t i = 0; i < n; i++)
		if (defs[i].mandatory && vals[i] < 0)
			return fail(ret_error, "missing mandatory metric '%s'", defs[i].name);
	return 0;
}

/* ---- CVSS v3.x ------------------------------------------------------------------------- */

/* v3.1 specification, appendix A: rounds up to one decimal on an integer so that, e.g.,
 * 4.000000000000001 does not become 4.1. */
static double roundup_v31(double x)
{
	long long i = llround(x * 100000.0);

	if (i % 10000 == 0)
		return (double)i / 100000.0;
	return (double)(i / 10000 + 1) / 10.0;
}

/* v3.0 specification, section 8.1: the plain "smallest number, to one decimal place,
 * that is equal to or higher than its input". Scores published under 3.0 used this. */
static double roundup_v30(double x)
{
	return ceil(x * 10.0) / 10.0;
}

static double v3_base_score(const int *vals, enum cvss_version version)
{
	/* v3.1 specification, section 7.4; indexes follow v3_metrics' value order. */
	static const double av[] = {0.85, 0.62, 0.55, 0.2};
	static const double ac[] = {0.77, 0.44};
	static const double pr_unchanged[] = {0.85, 0.62, 0.27};
	static const double pr_changed[] = {0.85, 0.68, 0.5};
	static const double ui[] = {0.85, 0.62};
	static const double cia[] = {0.56, 0.22, 0};
	bool changed = vals[M3_S] == 1;
	double iss, impact, exploitability, score;

	/* Evaluated in the order FIRST's calculators use, so double rounding agrees with them. */
	iss = 1 - ((1 - cia[vals[M3_C]]) * (1 - cia[vals[M3_I]]) * (1 - cia[vals[M3_A]]));
	if (changed)
		impact = 7.52 * (iss - 0.029) - 3.25 * pow(iss - 0.02, 15);
	else
		impact = 6.42 * iss;
	exploitability = 8.22 * av[vals[M3_AV]] * ac[vals[M3_AC]] *
			 (changed ? pr_changed : pr_unchanged)[vals[M3_PR]] * ui[vals[M3_UI]];

	if (impact <= 0)
		return 0.0;
	score = changed ? 1.08 * (impact + exploitability) : impact + exploitability;
	score = MIN(score, 10.0);
	return version == CVSS_V3_0 ? roundup_v30(score) : roundup_v31(score);
}

/* ---- CVSS v4.0 ------------------------------------------------------------------------- */

/* Scores of the 270 MacroVectors (EQ1..EQ6 levels), as published with the v4.0
 * specification (FIRST's cvss-v4-calculator, the table the specification refers to). */
/* clang-format off */
static const struct {
	char mv[7];
	double score;
} v4_macrovectors[] = {
	{ "000000", 10 },  { "000001", 9.9 }, { "000010", 9.8 }, { "000011", 9.5 },
	{ "000020", 9.5 }, { "000021", 9.2 }, { "000100", 10 },  { "000101", 9.6 },
	{ "000110", 9.3 }, { "000111", 8.7 }, { "000120", 9.1 }, { "000121", 8.1 },
	{ "000200", 9.3 }, { "000201", 9 },   { "000210", 8.9 }, { "000211", 8 },
	{ "000220", 8.1 }, { "000221", 6.8 }, { "001000", 9.8 }, { "001001", 9.5 },
	{ "001010", 9.5 }, { "001011", 9.2 }, { "001020", 9 },   { "001021", 8.4 },
	{ "001100", 9.3 }, { "001101", 9.2 }, { "001110", 8.9 }, { "001111", 8.1 },
	{ "001120", 8.1 }, { "001121", 6.5 }, { "001200", 8.8 }, { "001201", 8 },
	{ "001210", 7.8 }, { "001211", 7 },   { "001220", 6.9 }, { "001221", 4.8 },
	{ "002001", 9.2 }, { "002011", 8.2 }, { "002021", 7.2 }, { "002101", 7.9 },
	{ "002111", 6.9 }, { "002121", 5 },   { "002201", 6.9 }, { "002211", 5.5 },
	{ "002221", 2.7 }, { "010000", 9.9 }, { "010001", 9.7 }, { "010010", 9.5 },
	{ "010011", 9.2 }, { "010020", 9.2 }, { "010021", 8.5 }, { "010100", 9.5 },
	{ "010101", 9.1 }, { "010110", 9 },   { "010111", 8.3 }, { "010120", 8.4 },
	{ "010121", 7.1 }, { "010200", 9.2 }, { "010201", 8.1 }, { "010210", 8.2 },
	{ "010211", 7.1 }, { "010220", 7.2 }, { "010221", 5.3 }, { "011000", 9.5 },
	{ "011001", 9.3 }, { "011010", 9.2 }, { "011011", 8.5 }, { "011020", 8.5 },
	{ "011021", 7.3 }, { "011100", 9.2 }, { "011101", 8.2 }, { "011110", 8 },
	{ "011111", 7.2 }, { "011120", 7 },   { "011121", 5.9 }, { "011200", 8.4 },
	{ "011201", 7 },   { "011210", 7.1 }, { "011211", 5.2 }, { "011220", 5 },
	{ "011221", 3 },   { "012001", 8.6 }, { "012011", 7.5 }, { "012021", 5.2 },
	{ "012101", 7.1 }, { "012111", 5.2 }, { "012121", 2.9 }, { "012201", 6.3 },
	{ "012211", 2.9 }, { "012221", 1.7 }, { "100000", 9.8 }, { "100001", 9.5 },
	{ "100010", 9.4 }, { "100011", 8.7 }, { "100020", 9.1 }, { "100021", 8.1 },
	{ "100100", 9.4 }, { "100101", 8.9 }, { "100110", 8.6 }, { "100111", 7.4 },
	{ "100120", 7.7 }, { "100121", 6.4 }, { "100200", 8.7 }, { "100201", 7.5 },
	{ "100210", 7.4 }, { "100211", 6.3 }, { "100220", 6.3 }, { "100221", 4.9 },
	{ "101000", 9.4 }, { "101001", 8.9 }, { "101010", 8.8 }, { "101011", 7.7 },
	{ "101020", 7.6 }, { "101021", 6.7 }, { "101100", 8.6 }, { "101101", 7.6 },
	{ "101110", 7.4 }, { "101111", 5.8 }, { "101120", 5.9 }, { "101121", 5 },
	{ "101200", 7.2 }, { "101201", 5.7 }, { "101210", 5.7 }, { "101211", 5.2 },
	{ "101220", 5.2 }, { "101221", 2.5 }, { "102001", 8.3 }, { "102011", 7 },
	{ "102021", 5.4 }, { "102101", 6.5 }, { "102111", 5.8 }, { "102121", 2.6 },
	{ "102201", 5.3 }, { "102211", 2.1 }, { "102221", 1.3 }, { "110000", 9.5 },
	{ "110001", 9 },   { "110010", 8.8 }, { "110011", 7.6 }, { "110020", 7.6 },
	{ "110021", 7 },   { "110100", 9 },   { "110101", 7.7 }, { "110110", 7.5 },
	{ "110111", 6.2 }, { "110120", 6.1 }, { "110121", 5.3 }, { "110200", 7.7 },
	{ "110201", 6.6 }, { "110210", 6.8 }, { "110211", 5.9 }, { "110220", 5.2 },
	{ "110221", 3 },   { "111000", 8.9 }, { "111001", 7.8 }, { "111010", 7.6 },
	{ "111011", 6.7 }, { "111020", 6.2 }, { "111021", 5.8 }, { "111100", 7.4 },
	{ "111101", 5.9 }, { "111110", 5.7 }, { "111111", 5.7 }, { "111120", 4.7 },
	{ "111121", 2.3 }, { "111200", 6.1 }, { "111201", 5.2 }, { "111210", 5.7 },
	{ "111211", 2.9 }, { "111220", 2.4 }, { "111221", 1.6 }, { "112001", 7.1 },
	{ "112011", 5.9 }, { "112021", 3 },   { "112101", 5.8 }, { "112111", 2.6 },
	{ "112121", 1.5 }, { "112201", 2.3 }, { "112211", 1.3 }, { "112221", 0.6 },
	{ "200000", 9.3 }, { "200001", 8.7 }, { "200010", 8.6 }, { "200011", 7.2 },
	{ "200020", 7.5 }, { "200021", 5.8 }, { "200100", 8.6 }, { "200101", 7.4 },
	{ "200110", 7.4 }, { "200111", 6.1 }, { "200120", 5.6 }, { "200121", 3.4 },
	{ "200200", 7 },   { "200201", 5.4 }, { "200210", 5.2 }, { "200211", 4 },
	{ "200220", 4 },   { "200221", 2.2 }, { "201000", 8.5 }, { "201001", 7.5 },
	{ "201010", 7.4 }, { "201011", 5.5 }, { "201020", 6.2 }, { "201021", 5.1 },
	{ "201100", 7.2 }, { "201101", 5.7 }, { "201110", 5.5 }, { "201111", 4.1 },
	{ "201120", 4.6 }, { "201121", 1.9 }, { "201200", 5.3 }, { "201201", 3.6 },
	{ "201210", 3.4 }, { "201211", 1.9 }, { "201220", 1.9 }, { "201221", 0.8 },
	{ "202001", 6.4 }, { "202011", 5.1 }, { "202021", 2 },   { "202101", 4.7 },
	{ "202111", 2.1 }, { "202121", 1.1 }, { "202201", 2.4 }, { "202211", 0.9 },
	{ "202221", 0.4 }, { "210000", 8.8 }, { "210001", 7.5 }, { "210010", 7.3 },
	{ "210011", 5.3 }, { "210020", 6 },   { "210021", 5 },   { "210100", 7.3 },
	{ "210101", 5.5 }, { "210110", 5.9 }, { "210111", 4 },   { "210120", 4.1 },
	{ "210121", 2 },   { "210200", 5.4 }, { "210201", 4.3 }, { "210210", 4.5 },
	{ "210211", 2.2 }, { "210220", 2 },   { "210221", 1.1 }, { "211000", 7.5 },
	{ "211001", 5.5 }, { "211010", 5.8 }, { "211011", 4.5 }, { "211020", 4 },
	{ "211021", 2.1 }, { "211100", 6.1 }, { "211101", 5.1 }, { "211110", 4.8 },
	{ "211111", 1.8 }, { "211120", 2 },   { "211121", 0.9 }, { "211200", 4.6 },
	{ "211201", 1.8 }, { "211210", 1.7 }, { "211211", 0.7 }, { "211220", 0.8 },
	{ "211221", 0.2 }, { "212001", 5.3 }, { "212011", 2.4 }, { "212021", 1.4 },
	{ "212101", 2.4 }, { "212111", 1.2 }, { "212121", 0.5 }, { "212201", 1 },
	{ "212211", 0.3 }, { "212221", 0.1 },
};
/* clang-format on */

/* The score of MacroVector EQ (six levels), or NAN where no such MacroVector exists. */
static double v4_lookup(const int eq[6])
{
	char mv[7];

	for (int i = 0; i < 6; i++) {
		if (eq[i] < 0 || eq[i] > 9)
			return NAN;
		mv[i] = (char)('0' + eq[i]);
	}
	mv[6] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(v4_macrovectors); i++)
		if (memcmp(v4_macrovectors[i].mv, mv, 7) == 0)
			return v4_macrovectors[i].score;
	return NAN;
}

/* The metrics that take part in the severity distance, in this order. */
/* clang-format off */
enum { D_AV, D_PR, D_UI, D_AC, D_AT, D_VC, D_VI, D_VA, D_CR, D_IR, D_AR, D_SC, D_SI, D_SA, D_E,
       D_COUNT };
/* clang-format on */

/* Each metric's values from most to least severe: a value's position is its severity
 * level (specification section 8.2, "severity distance", in steps of 0.1). SC shares
 * SI/SA's scale, where S ranks above H, though SC itself cannot be S. */
/* clang-format off */
static const struct {
	int metric;
	const char *order;
} v4_levels[D_COUNT] = {
	[D_AV] = { M4_AV, "NALP" }, [D_PR] = { M4_PR, "NLH" },   [D_UI] = { M4_UI, "NPA" },
	[D_AC] = { M4_AC, "LH" },   [D_AT] = { M4_AT, "NP" },    [D_VC] = { M4_VC, "HLN" },
	[D_VI] = { M4_VI, "HLN" },  [D_VA] = { M4_VA, "HLN" },   [D_CR] = { M4_CR, "HML" },
	[D_IR] = { M4_IR, "HML" },  [D_AR] = { M4_AR, "HML" },   [D_SC] = { M4_SC, "SHLN" },
	[D_SI] = { M4_SI, "SHLN" }, [D_SA] = { M4_SA, "SHLN" },  [D_E] = { M4_E, "APU" },
};
/* clang-format on */

/* The highest severity vectors of each EQ level (the specification's "max vectors"), as
 * severity levels of the metrics the EQ covers. */
struct v4_max {
	int n;
	signed char lv[5][6];
};

/* clang-format off */
/* EQ1: AV, PR, UI */
static const struct v4_max v4_max_eq1[3] = {
	{ 1, { { 0, 0, 0 } } },                           /* AV:N/PR:N/UI:N */
	{ 3, { { 1, 0, 0 }, { 0, 1, 0 }, { 0, 0, 1 } } }, /* AV:A/PR:N/UI:N, AV:N/PR:L/UI:N, AV:N/PR:N/UI:P */
	{ 2, { { 3, 0, 0 }, { 1, 1, 1 } } },              /* AV:P/PR:N/UI:N, AV:A/PR:L/UI:P */
};
/* EQ2: AC, AT */
static const struct v4_max v4_max_eq2[2] = {
	{ 1, { { 0, 0 } } },          /* AC:L/AT:N */
	{ 2, { { 1, 0 }, { 0, 1 } } }, /* AC:H/AT:N, AC:L/AT:P */
};
/* EQ3 and EQ6 together: VC, VI, VA, CR, IR, AR; [eq3][eq6], n == 0 where impossible. */
static const struct v4_max v4_max_eq3eq6[3][2] = {
	{
		{ 1, { { 0, 0, 0, 0, 0, 0 } } }, /* VC:H/VI:H/VA:H/CR:H/IR:H/AR:H */
		{ 2, { { 0, 0, 1, 1, 1, 0 },      /* VC:H/VI:H/VA:L/CR:M/IR:M/AR:H */
		       { 0, 0, 0, 1, 1, 1 } } },  /* VC:H/VI:H/VA:H/CR:M/IR:M/AR:M */
	},
	{
		{ 2, { { 1, 0, 0, 0, 0, 0 },      /* VC:L/VI:H/VA:H/CR:H/IR:H/AR:H */
		       { 0, 1, 0, 0, 0, 0 } } },  /* VC:H/VI:L/VA:H/CR:H/IR:H/AR:H */
		{ 5, { { 1, 0, 1, 0, 1, 0 },      /* VC:L/VI:H/VA:L/CR:H/IR:M/AR:H */
		       { 1, 0, 0, 0, 1, 1 },      /* VC:L/VI:H/VA:H/CR:H/IR:M/AR:M */
		       { 0, 1, 0, 1, 0, 1 },      /* VC:H/VI:L/VA:H/CR:M/IR:H/AR:M */
		       { 0, 1, 1, 1, 0, 0 },      /* VC:H/VI:L/VA:L/CR:M/IR:H/AR:H */
		       { 1, 1, 0, 0, 0, 1 } } },  /* VC:L/VI:L/VA:H/CR:H/IR:H/AR:M */
	},
	{
		{ 0, { { 0 } } },                /* EQ3 2 means no H impact, so EQ6 is 1 */
		{ 1, { { 1, 1, 1, 0, 0, 0 } } }, /* VC:L/VI:L/VA:L/CR:H/IR:H/AR:H */
	},
};
/* EQ4: SC, SI, SA */
static const struct v4_max v4_max_eq4[3] = {
	{ 1, { { 1, 0, 0 } } }, /* SC:H/SI:S/SA:S */
	{ 1, { { 1, 1, 1 } } }, /* SC:H/SI:H/SA:H */
	{ 1, { { 2, 2, 2 } } }, /* SC:L/SI:L/SA:L */
};
/* clang-format on */

/* Depth of each MacroVector in severity-distance steps (the specification's "max
 * severity", plus one). */
static const int v4_depth_eq1[3] = {1, 4, 5};
static const int v4_depth_eq2[2] = {1, 2};
static const int v4_depth_eq3eq6[3][2] = {{7, 6}, {8, 8}, {0, 10}};
static const int v4_depth_eq4[3] = {6, 5, 4};

/* The value that counts for scoring: a Modified metric overrides its base metric; E, CR,
 * IR and AR Not Defined count as their worst case (E:A, xR:H), per section 8. */
static char v4_effective(const int *vals, int m)
{
	if (m <= M4_SA && vals[M4_MAV + m] > 0) /* present and not X */
		return v4_metrics[M4_MAV + m].values[vals[M4_MAV + m]][0];
	if (m == M4_E && vals[m] <= 0)
		return 'A';
	if ((m == M4_CR || m == M4_IR || m == M4_AR) && vals[m] <= 0)
		return 'H';
	return v4_metrics[m].values[vals[m]][0];
}

/* Severity distances of a vector (severity levels LVL, MacroVector EQ) from the first
 * highest-severity vector of its MacroVector that is at least as severe in every metric
 * (section 8.2).
 *
 * The specification counts distance in steps of 0.1; keeping them as those doubles, and
 * the later operations in the same order as FIRST's reference calculator, makes a score
 * that lands on x.x5 round the way the published calculator rounds it. */
static void v4_distances(const int eq[6], const int lvl[D_COUNT], double dist[D_COUNT])
{
	static const double step[] = {0.0, 0.1, 0.2, 0.3};
	const struct v4_max *m1 = &v4_max_eq1[eq[0]], *m2 = &v4_max_eq2[eq[1]];
	const struct v4_max *m36 = &v4_max_eq3eq6[eq[2]][eq[5]], *m4 = &v4_max_eq4[eq[3]];
	int total = m1->n * m2->n * m36->n * m4->n;

	/* EQ1's max vectors vary slowest, EQ4's fastest, as the reference composes them. */
	for (int i = 0; i < total; i++) {
		int a = i / (m2->n * m36->n * m4->n), b = i / (m36->n * m4->n) % m2->n;
		int c = i / m4->n % m36->n, d = i % m4->n;
		const signed char *l1 = m1->lv[a], *l2 = m2->lv[b], *l36 = m36->lv[c];
		const signed char *l4 = m4->lv[d];
		const int max[D_COUNT] = {
			[D_AV] = l1[0],	 [D_PR] = l1[1],  [D_UI] = l1[2],  [D_AC] = l2[0],
			[D_AT] = l2[1],	 [D_VC] = l36[0], [D_VI] = l36[1], [D_VA] = l36[2],
			[D_CR] = l36[3], [D_IR] = l36[4], [D_AR] = l36[5], [D_SC] = l4[0],
			[D_SI] = l4[1],	 [D_SA] = l4[2],  [D_E] = eq[4],
		};
		bool at_least_as_severe = true;

		for (int k = 0; k < D_COUNT; k++) {
			dist[k] = step[lvl[k]] - step[max[k]];
			if (dist[k] < 0)
				at_least_as_severe = false;
		}
		if (at_least_as_severe)
			return;
	}
	/* None qualifies (no valid vector gets here): like the reference calculator, keep
	 * the distances from the last one tried. */
}

static double v4_score(const int *vals)
{
	char e[M4_COUNT] = {0};
	int lvl[D_COUNT], eq[6], next[6];
	double value, lower[5], dist[D_COUNT] = {0}, sum, mean;
	double d_eq[4], depth[4];
	int n_lower = 0;

	for (int m = M4_AV; m <= M4_AR; m++)
		e[m] = v4_effective(vals, m);

	if (e[M4_VC] == 'N' && e[M4_VI] == 'N' && e[M4_VA] == 'N' && e[M4_SC] == 'N' &&
	    e[M4_SI] == 'N' && e[M4_SA] == 'N')
		return 0.0;

	/* EQ1..EQ6: section 8.1, tables 24-29. */
	if (e[M4_AV] == 'N' && e[M4_PR] == 'N' && e[M4_UI] == 'N')
		eq[0] = 0;
	else if ((e[M4_AV] == 'N' || e[M4_PR] == 'N' || e[M4_UI] == 'N') && e[M4_AV] != 'P')
		eq[0] = 1;
	else
		eq[0] = 2;
	eq[1] = (e[M4_AC] == 'L' && e[M4_AT] == 'N') ? 0 : 1;
	if (e[M4_VC] == 'H' && e[M4_VI] == 'H')
		eq[2] = 0;
	else if (e[M4_VC] == 'H' || e[M4_VI] == 'H' || e[M4_VA] == 'H')
		eq[2] = 1;
	else
		eq[2] = 2;
	if (e[M4_SI] == 'S' || e[M4_SA] == 'S')
		eq[3] = 0;
	else if (e[M4_SC] == 'H' || e[M4_SI] == 'H' || e[M4_SA] == 'H')
		eq[3] = 1;
	else
		eq[3] = 2;
	eq[4] = e[M4_E] == 'A' ? 0 : e[M4_E] == 'P' ? 1 : 2;
	if ((e[M4_CR] == 'H' && e[M4_VC] == 'H') || (e[M4_IR] == 'H' && e[M4_VI] == 'H') ||
	    (e[M4_AR] == 'H' && e[M4_VA] == 'H'))
		eq[5] = 0;
	else
		eq[5] = 1;

	/* Every EQ combination a valid vector can reach is in the table. */
	value = v4_lookup(eq);
	if (isnan(value))
		return NAN;

	/* Maximal scoring difference per EQ: the score of the next lower MacroVector; EQ3 and
	 * EQ6 step together (00 takes the higher of 01 and 10; 21 has no lower one). */
	for (int i = 0; i < 5; i++) {
		memcpy(next, eq, sizeof(next));
		switch (i) {
		case 0:
			next[0]++;
			break;
		case 1:
			next[1]++;
			break;
		case 3:
			next[3]++;
			break;
		case 4:
			next[4]++;
			break;
		case 2:
			if (eq[2] == 0 && eq[5] == 0) {
				double l, r;

				next[5]++;
				l = v4_lookup(next);
				next[5]--;
				next[2]++;
				r = v4_lookup(next);
				lower[i] = fmax(l, r);
				continue;
			}
			if (eq[2] == 1 && eq[5] == 0)
				next[5]++;
			else if (eq[2] == 2)
				next[2]++, next[5]++;
			else
				next[2]++;
			break;
		}
		lower[i] = v4_lookup(next);
	}

	for (int d = 0; d < D_COUNT; d++) {
		const char *order = v4_levels[d].order;

		lvl[d] = (int)(strchr(order, e[v4_levels[d].metric]) - order);
	}
	v4_distances(eq, lvl, dist);

	d_eq[0] = dist[D_AV] + dist[D_PR] + dist[D_UI];
	d_eq[1] = dist[D_AC] + dist[D_AT];
	d_eq[2] = dist[D_VC] + dist[D_VI] + dist[D_VA] + dist[D_CR] + dist[D_IR] + dist[D_AR];
	d_eq[3] = dist[D_SC] + dist[D_SI] + dist[D_SA];

	depth[0] = v4_depth_eq1[eq[0]] * 0.1;
	depth[1] = v4_depth_eq2[eq[1]] * 0.1;
	depth[2] = v4_depth_eq3eq6[eq[2]][eq[5]] * 0.1;
	depth[3] = v4_depth_eq4[eq[3]] * 0.1;

	/* Proportion of the distance within the MacroVector times its maximal scoring
	 * difference, averaged over the EQs that have a lower MacroVector. EQ5 counts in the
	 * mean but always contributes 0: its MacroVector has a single vector. */
	sum = 0;
	for (int i = 0; i < 4; i++)
		if (!isnan(lower[i])) {
			n_lower++;
			sum += (value - lower[i]) * (d_eq[i] / depth[i]);
		}
	if (!isnan(lower[4]))
		n_lower++;
	mean = n_lower ? sum / n_lower : 0;

	value = fmin(10.0, fmax(0.0, value - mean));
	return round(value * 10.0) / 10.0;
}

/* ---- API ------------------------------------------------------------------------------- */

const char *cvss_severity(enum cvss_version v, double score)
{
	long tenths;

	if (v != CVSS_V3_0 && v != CVSS_V3_1 && v != CVSS_V4_0)
		return NULL;
	if (!(score >= 0.0 && score <= 10.0))
		return NULL;
	tenths = lround(score * 10.0);
	if (tenths == 0)
		return "NONE";
	if (tenths <= 39)
		return "LOW";
	if (tenths <= 69)
		return "MEDIUM";
	if (tenths <= 89)
		return "HIGH";
	return "CRITICAL";
}

int cvss_compute(const char *vector, struct cvss_score *ret, const char **ret_error)
{
	static const struct {
		const char *prefix;
		enum cvss_version version;
	} prefixes[] = {
		{"CVSS:3.0/", CVSS_V3_0},
		{"CVSS:3.1/", CVSS_V3_1},
		{"CVSS:4.0/", CVSS_V4_0},
	};
	int vals[MAX((int)M4_COUNT, (int)M3_COUNT)];
	enum cvss_version version = 0;
	const char *p = NULL;
	double score;
	size_t len;
	char q[32];
	int r;

	if (!vector || !*vector)
		return fail(ret_error, "empty vector");
	len = strnlen(vector, CVSS_VECTOR_MAX + 1);
	if (len > CVSS_VECTOR_MAX)
		return fail(ret_error, "vector longer than %d bytes", CVSS_VECTOR_MAX);

	if (!startswith(vector, "CVSS:"))
		return fail(ret_error, "missing 'CVSS:' prefix");
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (startswith(vector, prefixes[i].prefix)) {
			version = prefixes[i].version;
			p = vector + strlen(prefixes[i].prefix);
			break;
		}
	if (!p) {
		const char *v = vector + strlen("CVSS:");

		if (streq(v, "3.0") || streq(v, "3.1") || streq(v, "4.0"))
			return fail(ret_error, "no metrics after the version prefix");
		quote_untrusted(q, sizeof(q), v, strcspn(v, "/"));
		return fail(ret_error, "unsupported CVSS version '%s'", q);
	}

	if (version == CVSS_V4_0) {
		r = parse_metrics(p, v4_metrics, M4_COUNT, vals, ret_error);
		if (r < 0)
			return r;
		score = v4_score(vals);
	} else {
		r = parse_metrics(p, v3_metrics, M3_COUNT, vals, ret_error);
		if (r < 0)
			return r;
		score = v3_base_score(vals, version);
	}
	if (isnan(score))
		return fail(ret_error, "internal error: no score for this vector");

	ret->version = version;
	ret->base_score = score;
	ret->severity = cvss_severity(version, score);
	return 0;
}
