/*
 * Which fleet nodes still run a kernel affected by a CVE without a patch for it: the nodes'
 * latest heartbeats (kernel release, loaded livepatches) against the inventory's verdicts and
 * the modules the build jobs made.
 */
#pragma once

#include <jansson.h>
#include <stdint.h>

struct tt_store;
struct srv_state;

enum srv_exposure {
	SRV_EXPOSED,	 /* its kernel is affected and no loaded livepatch is for the CVE */
	SRV_PATCHED,	 /* affected, and runs a module this server built for the CVE */
	SRV_NOT_EXPOSED, /* every inventory kernel of its release: not-compiled, fixed, ... */
	SRV_UNKNOWN,	 /* the server cannot tell (reason says why): never "not exposed" */
	_SRV_EXPOSURE_MAX,
};

const char *srv_exposure_to_string(enum srv_exposure e);
int srv_exposure_from_string(const char *s, enum srv_exposure *ret);

/*
 * The exposure of every node to CVE ID (canonical spelling): {"cve", "cve_state",
 * "exposure_counts": {"exposed", "patched", "not-exposed", "unknown"}, "nodes": [{"node",
 * "node_state", "kernel", "last_seen", "exposure", "reason", "verdicts": [{"kernel", "status",
 * "reason"}], "patched_by", "unidentified_patches", "withdrawn_patches", "unreleased_patches":
 * livepatch names}]}: "patched" only by a reported (name, sha256) that a job of this server
 * wrote for the CVE and whose revision has a live publication (docs/server.md, "Exposure");
 * the nodes by name; with
 * ONLY (not _SRV_EXPOSURE_MAX) the nodes of that exposure alone (the counts stay whole).
 * -ENOENT (logged) when the CVE database has no such CVE.
 */
int srv_cve_exposure(struct tt_store *cve, struct srv_state *st, const char *id,
		     int64_t stale_after, enum srv_exposure only, json_t **ret);

/*
 * The CVEs (each once, in the order of the patches) for which one of PATCHES (a heartbeat's: names or {"name",
 * "sha256"}) is a module this server vouches for: the same verdict that makes a node of an
 * affected kernel "patched" in srv_cve_exposure(). Bare names vouch for nothing.
 */
int srv_patched_cves(struct srv_state *st, json_t *patches, json_t **ret);
