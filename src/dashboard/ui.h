/* The dashboard's screen state, shared by the key handling (ui.c) and the drawing (draw*.c). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "job.h"
#include "model.h"

struct dash_source;
struct dash_source_config;

enum dash_screen {
	SCR_CVES,
	SCR_KERNELS,
	SCR_FLEET,
	SCR_PATCHES,
	SCR_EXPOSURE,
	SCR_HELP,
	_SCR_MAX,
};

enum text_kind {
	TK_PLAIN,
	TK_DETAIL, /* headings in bold */
	TK_DIFF,   /* + - @@ in colour */
};

/* A list's cursor and the first row shown. */
struct cursor {
	size_t sel, top;
};

/* A scrollable text, wrapped at the width it is drawn in. */
struct text {
	char *s;
	size_t top;
	enum text_kind kind;
	size_t n_lines; /* as last drawn */
	int height;	/* as last drawn */
	int width;
};

enum prompt {
	PROMPT_NONE,
	PROMPT_SEARCH,
	PROMPT_FILE,
	PROMPT_COMMENT, /* Patches: a review comment */
	PROMPT_REJECT,	/* Patches: why it is rejected */
	PROMPT_CHANNEL, /* Patches: where to publish */
};

/* Colour pairs; attributes alone under NO_COLOR. */
enum {
	C_RED = 1,
	C_YELLOW,
	C_GREEN,
	C_CYAN,
	C_MAGENTA,
	C_BLUE,
	C_BAR,
};

struct ui {
	const struct dash_source_config *cfg;
	struct dash_source *src; /* the screen thread's own connection */
	struct dash_model *m;
	struct job job;
	struct job_queue *q; /* the requests' worker (a server), or NULL: they run at once */
	enum dash_screen screen, back;
	bool color, utf8;
	int rows, cols;

	/* CVEs */
	size_t *rows_idx, n_rows;
	struct cursor cl;
	bool detail, focus_detail;
	struct text dt;
	char dt_id[24]; /* the CVE the detail pane shows */
	struct dash_filter f;

	/* Kernels, Fleet */
	struct cursor kl, nl;
	bool kdetail, ndetail;
	struct text kt, nt;
	char kt_name[128], nt_name[128];

	/* Patches, Exposure, Help */
	struct text pt, ht;
	char patch_cve[24];
	char *patch_kernel;
	size_t chart_k;
	json_t *plist;	/* the server's patches (GET /v1/patches) */
	size_t psel, plog; /* the selected patch; the job whose log L showed */
	bool pdiff;	/* pt holds a diff or a log, not the detail */
	int pkey;	   /* a workflow key pressed before the patch list came */
	json_int_t pwant;  /* select this patch id when the list comes (0: keep psel) */
	unsigned psel_gen; /* bumped by each move of the selection ([ ]): see refresh_apply() */
	struct sbs_row *sbs; /* Patches, wide: revision 1 and the current one side by side */
	size_t n_sbs;
	char *sbs_title;
	char triage_key[160]; /* "CVE kernel" refused once: T again creates it anyway */

	char search[256];
	enum prompt prompt;
	char pbuf[256];
	size_t plen;
	char msg[256];
	bool quit;
	unsigned long spin;
	unsigned long generation; /* models loaded */
	unsigned refresh;	  /* seconds between node refreshes on Fleet (0: never) */
	double next_refresh;	  /* monotonic seconds */
};

/* One row of a side-by-side diff: a line on the left, the right, or both. */
struct sbs_row {
	char tag; /* ' ' the same, '-' left only, '+' right only, '~' changed, '@' a hunk */
	char *l, *r;
};

/* draw.c */
void ui_draw(struct ui *u);
int ui_list_height(const struct ui *u); /* rows of the focused list */
int ui_text_height(const struct ui *u); /* rows of the focused text */
/* The first wrapped line after line AFTER whose logical line holds NEEDLE (any case). */
bool ui_text_find(const struct ui *u, const struct text *t, size_t after, const char *needle,
		  size_t *ret_line);
/* Rows the Fleet screen's nodes-by-kernel table takes above its node list. */
int ui_fleet_top(const struct ui *u);
/* Where the CVE list's rows begin and how many fit, for the mouse. */
void ui_cve_list_geometry(const struct ui *u, int *ret_y, int *ret_h);
/* The help table, also drawn by draw.c. */
struct key_help {
	const char *keys, *what, *where;
};
extern const struct key_help ui_keys[];
extern const size_t ui_n_keys;
/* The help text, built once from ui_keys. */
char *ui_help_text(void);
const char *ui_screen_name(enum dash_screen s);
/* Tab bar: the column where screen S's label starts and its width. */
void ui_tab_span(enum dash_screen s, int *ret_x, int *ret_w);

/* ui.c */
/* Runs Q: on the worker with a server (never holding the screen), else at once. */
void ui_request(struct ui *u, struct job_req *q);
/* Q's error as the library logged it, else errno's words (in BUF when built there). */
const char *ui_req_error(struct job_req *q, char *buf, size_t size);
/* Which kernel a CVE's patch is for: the filtered one, else the first it affects, else 0. */
size_t ui_patch_kernel(const struct ui *u, size_t cve);
int ui_run(const struct dash_source_config *cfg, unsigned refresh, const char *bench_keys,
	   const char *bench_out);
