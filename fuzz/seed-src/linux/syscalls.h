/* Empty: kpatch-macros.h includes it; the seeds define no system call. */
#pragma once
