#!/usr/bin/env python3
"""The JSON shapes tuxtape(1) documents, checked against the documents in a directory.

A shape is a type name ("str", "int", "num", "bool"), a type name ending in "?" (or null),
a set of strings (a lower-case enum), [shape] (an array of it), or a dict of keys to shapes
(exactly those keys; a key written "name?" may be absent). A key has one type in every shape and in every document (a "kev" is a
boolean everywhere, a count of them is "kev_count"), with no exceptions: the shapes are
checked against each other, and every key met in a document, documented or not, against
the others. A ("map", shape) is an object whose keys are data (a year, a state), not names,
so they are not held to this.
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
SEVERITY_OR_NULL = SEVERITY | {None}

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
          "files_method": {"debuginfo", "builddir", "static"}, "file_count": "int",
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
        "removed_count": "int", "skipped": "int", "published_count": "int", "rejected": "int",
        "cvss_checked": "int", "cvss_mismatch": "int", "fetch_seconds": "num",
        "sync_seconds": "num",
        "kernels": [{"kernel": "str", "baseline": "bool", "affected": "int",
                     "untriaged": "int",
                     "newly_affected": [{"id": "str", "base_score": "num?",
                                         "severity": SEVERITY_OR_NULL, "kev": "bool",
                                         "triaged": "bool"}],
                     "newly_fixed": [{"id": "str", "status": STATUS | {"gone"}}],
                     "newly_kev": [{"id": "str", "date_added": "str?"}]}]}
ENRICH_PART = {"ok": "bool", "parsed": "int", "stored": "int", "not_in_db": "int",
               "skipped": "int", "requests": "int"}

CACHE_ENTRY = {"kind": {"tree", "source", "leftover"}, "path": "str", "bytes": "int",
               "last_used": "int", "in_use": "bool", "source": "str?", "config": "str?",
               "release": "str?"}

# The review workflow's documents: what tuxtape-server answers, printed as given.
PATCH_STATE = {"draft", "submitted", "built", "failed", "approved", "rejected", "published",
               "withdrawn"}
PATCH_ELEM = {"id": "int", "cve": "str", "title": "str?", "kernels": ["str"],
              "state": PATCH_STATE, "author": "str", "revision": "int", "created_at": "str",
              "updated_at": "str"}
PATCH = dict(PATCH_ELEM,
             revisions=[{"rev": "int", "author": "str", "author_person": "str", "sha256": "str",
                         "note": "str?", "created_at": "str"}],
             approvals={"rev": "int", "count": "int", "needed": "int", "by": ["str"]},
             reviews=[{"id": "int", "rev": "int", "reviewer": "str", "reviewer_person": "str",
                       "verdict": {"comment", "approve", "reject"}, "comment": "str?",
                       "at": "str"}],
             jobs=[{"id": "int", "kind": {"build", "adhoc"}, "patch": "int?", "rev": "int?",
                    "kernel": "str",
                    "state": {"queued", "running", "done", "failed", "cancelled"},
                    "requested_by": "str?", "lease_owner": "str?", "attempts": "int",
                    "build": {"written", "unsafe", "nochange", "error", None},
                    "boot": {"passed", "failed", "skipped", None}, "module_name": "str?",
                    "module_sha256": "str?", "error": "str?", "lease_expires": "str?",
                    "created_at": "str", "started_at": "str?", "finished_at": "str?"}],
             publications=[{"id": "int", "rev": "int", "channel": "str", "targets": ["str"],
                            "published_by": "str", "withdrawn_by": "str?",
                            "published_at": "str", "withdrawn_at": "str?"}])
EXPOSURE = {"exposed", "patched", "not-exposed", "unknown"}
# The one known break of the one-type rule, documented in tuxtape(1): "id" is a CVE id (a
# string) in the CVE documents and a number (a patch's, job's, review's, publication's) in the
# review workflow's, as is a job's "patch" (cve patch's is the text). The two families are held
# to it apart for these two keys; every other key is shared.
WORKFLOW_DOCS = {"patch-create", "patch-create-2", "patch-edit", "patch-submit", "patch-show",
                 "patch-list", "review-comment", "review-approve", "review-reject", "publish",
                 "withdraw"}

KERNEL_ADD = {"name": "str", "release": "str", "version": "str", "mapping": "str",
              "files_method": {"debuginfo", "builddir", "static"}, "file_count": "int",
              "verdicts_computed": "int", "replaced": "bool", "files_seconds": "num",
              "verdict_seconds": "num", "source_version": "str?", "changelog": "str?",
              "distro_version": "str?", "distro_fixes": "int", "distro_fixes_taken_back": "int"}
FILES = [{"path": "str", "kind": KIND, "generated": "bool", "how": "str?"}]
ARCHIVE_DONE = {"done": {"created", "published", "re-signed the timestamp of", "rotated"},
                "archive": "str"}

SHAPES = {
    "sync": SYNC,
    "sync-again": SYNC,
    "sync-changes": SYNC,
    "enrich": {"kev_import": ENRICH_PART, "epss_import": ENRICH_PART},
    "kernel-add": KERNEL_ADD,
    "kernel-import-running": KERNEL_ADD,
    "kernel-eval": {"method": {"debuginfo", "builddir", "static"}, "file_count": "int",
                    "warning_count": "int", "files": FILES, "eval_seconds?": "num",
                    "compare?": {"reference": {"debuginfo", "builddir", "static"},
                                 "got": "int", "want": "int", "common": "int",
                                 "same_kind": "int", "precision": "num", "recall": "num",
                                 "extra": ["str"], "missing": ["str"]}},
    "triage-set": {"schema_version": "int", "id": "str", "kernel": "str",
                   "state": TRIAGE_STATE, "note": "str?", "who": "str?"},
    "triage-clear": {"schema_version": "int", "id": "str", "kernel": "str", "cleared": "bool"},
    "triage-list": {"schema_version": "int",
                    "decisions": [dict(TRIAGE, id="str", kernel="str", at="str", expired="bool",
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
                 "epss_percentile": "num?", "epss_date": "str?", "cna_affected": "any",
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
                  "kev_count": "int", "epss_count": "int", "skipped_records": "int",
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
                     "files": FILES},
    "kernel-rm": {"removed": "str"},
    "kernel-set-build": {"name": "str", "kbuild": "str?", "symbols": "str?",
                         "symbols_sha256": "str?"},
    "fleet-summary": [{"kernel": "str", "release": "str", "version": "str",
                       "counts": COUNTS, "total": "int", "funnel": FUNNEL}],
    "fleet-refresh": {"kernel_count": "int", "cve_count": "int", "verdict_count": "int",
                      "changed": "int",
                      "counts": COUNTS, "refresh_seconds": "num"},
    "check": {"schema_version": "int",
              "threshold": {"min_score": "num?", "kev": "bool", "scored_only": "bool"},
              "ok": "bool", "findings": "int",
              "kernels": [{"kernel": "str", "findings": "int", "unscored": "int",
                           "triaged_count": "int", "unscored_left_out": "int",
                           "ids": ["str"]}]},
    "db-check": {"database": "str", "check": {"integrity_check", "quick_check"}, "ok": "bool",
                 "problems": ["str"]},
    "version": {"version": "str", "schema_version": "int"},
    "archive-init": ARCHIVE_DONE,
    "archive-publish": ARCHIVE_DONE,
    "archive-timestamp": ARCHIVE_DONE,
    "archive-rotate-key": ARCHIVE_DONE,
    "archive-add": {"done": {"staged"}, "targets": ["str"]},
    "archive-remove": {"done": {"staged"}, "removed": "str"},
    "archive-status": {"archive": "str", "public": "str",
                       "roles": [{"role": "str", "metadata_version": "int", "expires": "str?",
                                  "expired": "bool", "keyids": ["str"],
                                  "signature_threshold?": "int"}],
                       "kernels": [{"kernel": "str", "metadata_version": "int",
                                    "expires": "str?", "expired": "bool",
                                    "targets": [{"target": "str", "length": "int",
                                                 "sha256": "str", "livepatch": "str?",
                                                 "vermagic": "str?", "cves": ["str"],
                                                 "approved_by": "str?", "added_at": "str?"}]}],
                       "staged": ["any"]},
    "patch-create": dict(PATCH, approvals_needed="int"),
    "patch-create-2": dict(PATCH, approvals_needed="int"),
    "patch-edit": PATCH,
    "patch-submit": PATCH,
    "patch-show": PATCH,
    "patch-list": [PATCH_ELEM],
    "review-comment": PATCH,
    "review-approve": PATCH,
    "review-reject": PATCH,
    "publish": PATCH,
    "withdraw": PATCH,
    "exposure": {"cve": "str", "cve_state": {"published", "rejected"},
                 "exposure_counts": ("map", "int"),
                 "nodes": [{"node": "str", "node_state": {"ok", "error", "stale"},
                            "kernel": "str?", "last_seen": "str?", "exposure": EXPOSURE,
                            "reason": "str",
                            "verdicts": [{"kernel": "str", "status": STATUS, "reason": "str"}],
                            "patched_by": ["str"], "unidentified_patches": ["str"],
                            "withdrawn_patches": ["str"],
                            "unreleased_patches": ["str"]}]},
    "cve-patch": {"cve": "str", "kernel": "str", "source": "str", "commits": ["str"],
                  "patch?": "str", "output?": "str"},
    "livepatch-diff": {"file": "str?", "object": "str",
                       "result": {"written", "unsafe", "nochange", "error"},
                       "functions": [{"name": "str", "orig_name": "str?",
                                      "kind": {"new", "changed"}, "sympos": "int"}],
                       "included": ["str"], "special": ["str"], "refusals": ["str"],
                       "warnings": ["str"], "callbacks": ["str"]},
    "livepatch-build": {"result": {"written", "unsafe", "nochange"}, "name": "str",
                        "module": "str?", "functions": ["str"], "units": ["any"],
                        "relocations": "int", "klp_symbols": "int", "refusals": ["str"],
                        "warnings": ["str"], "tree_cached": "bool",
                        "seconds": {"prepare": "num", "compile": "num", "diff": "num",
                                    "module_build": "num", "total": "num"},
                        "files": ["str"], "identical": ["any"], "not_built": ["any"],
                        "patch_notes": ["any"], "fuzz_allowed": "bool", "fuzz": "bool",
                        "config_accepted": ["str"], "tree?": "str", "kernel": "str?",
                        "kernel_release": "str?", "cves": ["str"],
                        "patches": [{"path": "str", "sha256": "str"}],
                        "objects": [{"name": "str", "ko": "str?", "function_count": "int",
                                     "klp_relocations": "int"}]},
    "livepatch-module": {"result": {"built", "unsafe", "error"}, "ko": "str?",
                         "function_count": "int", "klp_relocations": "int",
                         "klp_symbols": "int",
                         "objects": [{"name": "str", "ko": "str?", "function_count": "int",
                                      "klp_relocations": "int", "klp_symbols": "int"}],
                         "refusals": ["str"], "warnings": ["str"], "build_log?": "str"},
    "cache-list": [CACHE_ENTRY],
    "cache-clean": {"entries": [CACHE_ENTRY], "bytes": "int", "dry_run": "bool"},
}

SHAPES["archive-status-published"] = SHAPES["archive-status"]
SHAPES["cve-patch-output"] = SHAPES["cve-patch"]
# Declared, held to the one-type rule with the others, but no document of theirs is checked
# here: both need a real kernel's tree (json-shapes.sh's exemptions say which tests run them).
NOT_RUN = {"livepatch-build", "livepatch-module"}
# json-shapes.sh names the shapes whose commands it skipped (no openssl or curl for a server)
NOT_RUN |= set(os.environ.get("JSON_SHAPES_NOT_RUN", "").split())

TYPES = {"str": str, "int": int, "bool": bool, "num": (int, float)}
errors = []
key_types = {}


def key_name(doc, k):
    return f"{k} (review workflow)" if k in ("id", "patch") and doc in WORKFLOW_DOCS else k


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
        shape = {k.rstrip("?"): (k.endswith("?"), sub) for k, sub in shape.items()}
        for k, (optional, _) in shape.items():
            if k not in v and not optional:
                errors.append(f"{doc}: {where}.{k}: missing")
        for k in v:
            # every key, documented or not: a stray key of another type is caught twice
            if v[k] is not None:
                key_types.setdefault(key_name(doc, k), {}).setdefault(type_name(v[k]), f"{doc}: {where}")
            if k not in shape:
                errors.append(f"{doc}: {where}.{k}: not documented")
                continue
            check(doc, v[k], shape[k][1], f"{where}.{k}")
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


def shape_type(shape):
    """The type name a shape gives a value, as type_name() spells it; None for any."""
    if isinstance(shape, dict):
        return "object"
    if isinstance(shape, list):
        return "array"
    if isinstance(shape, set):
        return "str"
    if isinstance(shape, tuple):
        return "object"
    if shape == "any":
        return None
    return {"str": "str", "int": "num", "num": "num", "bool": "bool"}[shape.rstrip("?")]


def shape_keys(doc, shape, where, out):
    """Every key the shapes name, with the type each gives it, into OUT."""
    if isinstance(shape, dict):
        for k, sub in shape.items():
            k = k.rstrip("?")
            t = shape_type(sub)
            if t:
                out.setdefault(key_name(doc, k), {}).setdefault(t, f"shape {doc}: {where}")
            shape_keys(doc, sub, f"{where}.{k}", out)
    elif isinstance(shape, list):
        shape_keys(doc, shape[0], f"{where}[]", out)
    elif isinstance(shape, tuple):
        shape_keys(doc, shape[1], where, out)


def several_types(table):
    return [f"key {k!r} has several types: " + ", ".join(f"{t} ({w})" for t, w in types.items())
            for k, types in sorted(table.items()) if len(types) > 1]


def main():
    d = sys.argv[1]
    declared = {}
    for doc, shape in SHAPES.items():
        shape_keys(doc, shape, "$", declared)
    errors.extend(several_types(declared))
    seen = set()
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
        seen.add(doc)
    errors.extend(several_types(key_types))
    if not os.environ.get("JSON_SHAPES_ONE"):  # set: one document checked by another test
        errors.extend(f"{doc}: a shape without a document" for doc in SHAPES
                      if doc not in seen and doc not in NOT_RUN)
    for e in errors:
        print(e)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
