/* The Patches screen's review workflow through a server (patches.c). */
#pragma once

#include <stdbool.h>

#include "ui.h"

/* GET /v1/patches into the screen, then the selected patch's detail. */
void ui_patches_load(struct ui *u);
void ui_patches_show(struct ui *u);
/* A Patches-screen key of the workflow; false when CH is not one. */
bool ui_patches_key(struct ui *u, int ch);
/* A server patch from CVE's raw fix for inventory KERNEL, deployed to RELEASE (T on CVEs). */
/* FORCE: the user confirmed a kernel whose verdict says it needs no fix (the server refuses it
 * otherwise). */
void ui_patches_triage(struct ui *u, const char *cve, const char *kernel, const char *release,
		       bool force);
/* A comment, a reason to reject or a channel typed at the prompt. */
void ui_patches_prompt_done(struct ui *u, enum prompt p, const char *text);
