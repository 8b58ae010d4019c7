#!/usr/bin/env python3
"""The JSON shapes tuxtape(1) documents, checked against the documents in a directory.

A shape is a type name ("str", "int", "num", "bool"), a type name ending in "?" (or null),
a set of strings (a lower-case enum), [shape] (an array of it), or a dict of keys to shapes
(exactly those keys). Every key must also have one type in every document (a "kev" is a
boolean everywhere), apart from the exceptions listed in SAME_KEY_EXCEPTIONS.
"""
import json
import os
import sys

STATUS = {"affected", "not-compiled", "fixed", "not-affected", "unknown"}
CODE = {"affected", "not-compiled", "fixed-by-version", "fixed-by-distribution",
        "version-not-affected", "unknown-version-data", "unknown-no-versions",
        "unknown-no-files", "unknown-headers-only", "unknown-no-source"}
LIVEPATCH = {"c-sources", "not-needed", "unknown-verdict", "build-files", "assembly",
             "global-header", "header-too-many-units", "builtin-and-module", "other-files",
             "not-estimated"}
SEVERITY = {"critical", "high", "medium", "low", "none"}
KIND = {"builtin", "module", "builtin+module", "none"}
TRIAGE_STATE = {"accepted-risk", "not-applicable", "will-patch"}
COUNTS = {s: "int" for s in STATUS}

TRIAGE = {"state": TRIAGE_STATE, "note": "str?", "who": "str?", "expires": "str?"}
VERDICT = {"status": STATUS, "code": CODE, "reason": "str",
           "introduced_version": "str?", "introduced_commit": "str?",
           "fixed_version": "str?", "fixed_commit": "str?",
           "fix_files": [{"path": "str", "kind": KIND}],
           "livepatchable": "bool", "livepatch_reason": LIVEPATCH}
CVE_ELEM = {"id": "str", "state": {"published", "rejected"}, "priority": "num",
            "base_score": "num?", "severity": SEVERITY | {None}, "kev": "bool",
            "epss": "num?", "published": "str?",
            "date_source": {"record", "vulns-history", "nvd", "first-seen", None},
            "title": "str?"}
CVE_ELEM_KERNEL = dict(CVE_ELEM, kernel="str", triage=("obj?", TRIAGE), **VERDICT)
KERNEL = {"name": "str", "release": "str", "version": "str", "mapping": "str", "arch": "str?",
          "files_method": {"debuginfo", "builddir", "static"}, "files": "int",
          "added_at": "str", "updated_at": "str", "proc_version": "str?",
          "version_signature": "str?", "config_origin": "str?", "source": "str?",
          "build_dir": "str?", "debuginfo": "str?", "source_version": "str?",
          "distro": "str?", "distro_version": "str?", "changelog": "str?",
          "distro_fixes": "int", "config_lines": "int",
          "kbuild": "str?", "symbols": "str?", "symbols_sha256": "str?",
          "source_sha256": "str?"}
FUNNEL = {"in_data": "int", "vulnerable_version": "int", "compiled": "int",
          "livepatch_possible": "int"}
SYNC = {"schema_version": "int", "from": "str?", "to": "str", "full": "bool",
        "up_to_date": "bool", "considered": "int", "added": "int", "updated": "int",
        "removed": "int", "skipped": "int", "published": "int", "rejected": "int",
        "cvss_checked": "int", "cvss_mismatch": "int", "fetch_seconds": "num",
        "sync_seconds": "num",
        "kernels": [{"kernel": "str", "baseline": "bool", "affected": "int",
                     "untriaged": "int", "newly_affected": ["str"], "newly_fixed": ["str"],
                     "newly_kev": ["str"]}]}
ENRICH_PART = {"ok": "bool", "parsed": "int", "stored": "int", "not_in_db": "int",
               "skipped": "int", "requests": "int"}

SHAPES = {
    "sync": SYNC,
    "sync-again": SYNC,
    "enrich": {"kev": ENRICH_PART, "epss": ENRICH_PART},
    "kernel-add": {"name": "str", "release": "str", "version": "str", "mapping": "str",
                   "files_method": {"debuginfo", "builddir", "static"}, "files": "int",
                   "verdicts_computed": "int", "replaced": "bool", "files_seconds": "num",
                   "verdict_seconds": "num", "source_version": "str?", "changelog": "str?",
                   "distro_version": "str?", "distro_fixes": "int",
                   "distro_fixes_taken_back": "int"},
    "triage-set": {"schema_version": "int", "id": "str", "kernel": "str",
                   "state": TRIAGE_STATE, "note": "str?", "who": "str?"},
    "triage-clear": {"schema_version": "int", "id": "str", "kernel": "str", "cleared": "bool"},
    "triage-list": {"schema_version": "int",
                    "triage": [dict(TRIAGE, id="str", kernel="str", at="str", expired="bool",
                                    status=STATUS | {None})]},
    "cve-list": [CVE_ELEM],
    "cve-list-kernel": [CVE_ELEM_KERNEL],
    "cve-show": {"schema_version": "int", "id": "str", "state": {"published", "rejected"},
                 "title": "str?", "description": "str?", "published": "str?",
                 "date_source": CVE_ELEM["date_source"], "priority": "num",
                 "base_score": "num?", "severity": SEVERITY | {None},
                 "published_commit": "str?", "kev": "bool", "epss": "num?",
                 "kev_entry": ("obj?", {"date_added": "str?", "due_date": "str?",
                                        "known_ransomware": "str?", "name": "str?"}),
                 "epss_percentile": "num?", "epss_date": "str?", "affected": "any",
                 "path": "str", "read_commit": "str?",
                 "cvss": [{"version": "str", "vector": "str?", "base_score": "num?",
                           "severity": SEVERITY | {None}, "computed_score": "num?",
                           "source": {"cna", "nvd"}, "rationale": "str?"}],
                 "program_files": ["str"],
                 "dyad": [{"introduced_version": "str", "introduced_commit": "str?",
                           "fixed_version": "str", "fixed_commit": "str?"}],
                 "fix_commits": ["str"], "vulnerable_commits": ["str"],
                 "references": ["str"],
                 "verdicts": [dict(VERDICT, kernel="str", triage=("obj?", TRIAGE))]},
    "cve-stats": {"schema_version": "int", "by_state": ("map", "int"),
                  "by_severity": ("map", "int"), "by_year": ("map", "int"),
                  "cvss_vectors": "int", "cvss_mismatches": "int", "nvd_scored": "int",
                  "kev": "int", "epss": "int", "skipped_records": "int",
                  "vulns_commit": "str?", "vulns_url": "str?", "synced_at": "str?"},
    "cve-version": {"schema_version": "int", "version": "str",
                    "question": {"vulnerable", "fixed", "fixed-in", "unknown", "all"},
                    "cves": [{"id": "str",
                              "version_state": {"vulnerable", "fixed", "not-affected",
                                                "unknown"},
                              "reason": "str"}]},
    "kernel-list": [KERNEL],
    "kernel-show": dict(KERNEL, schema_version="int", verdict_counts=COUNTS),
    "kernel-files": {"kernel": "str", "method": {"debuginfo", "builddir", "static"},
                     "files": [{"path": "str", "kind": KIND, "generated": "bool",
                                "how": "str?"}]},
    "kernel-rm": {"removed": "str"},
    "kernel-set-build": {"name": "str", "kbuild": "str?", "symbols": "str?",
                         "symbols_sha256": "str?"},
    "fleet-summary": [{"kernel": "str", "release": "str", "version": "str",
                       "counts": COUNTS, "total": "int", "funnel": FUNNEL}],
    "fleet-refresh": {"kernels": "int", "cves": "int", "verdicts": "int", "changed": "int",
                      "counts": COUNTS, "seconds": "num"},
    "check": {"schema_version": "int",
              "threshold": {"min_score": "num?", "kev": "bool", "scored_only": "bool"},
              "ok": "bool", "findings": "int",
              "kernels": [{"kernel": "str", "findings": "int", "unscored": "int",
                           "triaged": "int", "unscored_left_out": "int", "ids": ["str"]}]},
    "db-check": {"database": "str", "check": {"integrity_check", "quick_check"}, "ok": "bool",
                 "problems": ["str"]},
}

# Keys whose type differs between documents on purpose, and why (tuxtape(1) says so too).
SAME_KEY_EXCEPTIONS = {
    # a kernel's count of compiled files (kernel list/show/add) vs the list (kernel files)
    "files",
    # counts beside objects: fleet refresh's "verdicts", "cves", "kernels", "affected"
    # (numbers) vs cve show's verdicts, cve version's cves, check's kernels, a CVE's
    # affected array; sync's "published"/"removed" (counts) vs a CVE's date / kernel rm's
    # name; "triage" (one decision, or triage list's array). Left as they are: renaming
    # them would break scripts and GET /v1 clients (tuxtape(1), JSON OUTPUT).
    "verdicts", "cves", "kernels", "affected", "published", "removed", "triage",
    # cve stats counts KEV and EPSS rows; cve enrich reports per source (objects)
    "kev", "epss",
}

TYPES = {"str": str, "int": int, "bool": bool, "num": (int, float)}
errors = []
key_types = {}


def type_name(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "num"
    return {str: "str", list: "array", dict: "object"}[type(v)]


def check(doc, v, shape, where):
    if isinstance(shape, dict):
        if not isinstance(v, dict):
            errors.append(f"{doc}: {where}: {type_name(v)}, want an object")
            return
        for k in shape:
            if k not in v:
                errors.append(f"{doc}: {where}.{k}: missing")
        for k in v:
            if k not in shape:
                errors.append(f"{doc}: {where}.{k}: not documented")
                continue
            if v[k] is not None:
                key_types.setdefault(k, {}).setdefault(type_name(v[k]), f"{doc}: {where}")
            check(doc, v[k], shape[k], f"{where}.{k}")
    elif isinstance(shape, list):
        if not isinstance(v, list):
            errors.append(f"{doc}: {where}: {type_name(v)}, want an array")
            return
        for i, e in enumerate(v):
            check(doc, e, shape[0], f"{where}[{i}]")
    elif isinstance(shape, set):
        if v not in shape:
            errors.append(f"{doc}: {where}: {v!r} is not one of {sorted(map(str, shape))}")
    elif isinstance(shape, tuple):
        kind, inner = shape
        if kind == "obj?":
            if v is not None:
                check(doc, v, inner, where)
        elif kind == "map":
            if not isinstance(v, dict):
                errors.append(f"{doc}: {where}: {type_name(v)}, want an object")
                return
            for k, x in v.items():
                check(doc, x, inner, f"{where}.{k}")
    elif shape == "any":
        pass
    else:
        nullable = shape.endswith("?")
        t = TYPES[shape.rstrip("?")]
        if v is None and nullable:
            return
        if not isinstance(v, t) or (shape.rstrip("?") != "bool" and isinstance(v, bool)):
            errors.append(f"{doc}: {where}: {type_name(v)} {v!r:.40}, want {shape}")


def main():
    d = sys.argv[1]
    for name in sorted(os.listdir(d)):
        if not name.endswith(".json"):
            continue
        doc = name[:-5]
        if doc.startswith("cve-show"):
            doc = "cve-show"
        if doc not in SHAPES:
            errors.append(f"{doc}: no documented shape")
            continue
        try:
            v = json.load(open(os.path.join(d, name)))
        except ValueError as e:
            errors.append(f"{doc}: not JSON: {e}")
            continue
        check(doc, v, SHAPES[doc], "$")
    for k, types in sorted(key_types.items()):
        if len(types) > 1 and k not in SAME_KEY_EXCEPTIONS:
            errors.append(f"key {k!r} has several types: " +
                          ", ".join(f"{t} ({w})" for t, w in types.items()))
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
