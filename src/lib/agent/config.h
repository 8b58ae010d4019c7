/* The agent's configuration file: "key = value" lines, each error naming the file and field. */
#pragma once

struct agent_config {
	char *path;	     /* the file read, or NULL for the defaults */
	char *archive_url;   /* metadata at URL/metadata/, modules at URL/targets/ */
	char *trusted_root;  /* a root.json trusted on first use of the state directory */
	char *state_dir;     /* default /var/lib/tuxtape-agent */
	char *sysroot;	     /* prefix of /proc, /sys, /dev (tests); default "" */
	unsigned interval_s; /* between polls; default 3600 */
	unsigned jitter_s;   /* up to this much added to each interval; default 300 */
	unsigned signal_after_s;       /* a transition this old gets its tasks signalled; 15 */
	unsigned transition_timeout_s; /* then reverted; 60 */
	unsigned settle_s;	       /* kmsg watched this long after a load by `check`; 5 */
	unsigned crash_window_s;       /* an unclean reboot this soon after a load blocks it; 900 */
	/* A tuxtape-server to report to (heartbeats, status events); NULL: none. */
	char *server_url;	 /* https://HOST[:PORT] */
	char *server_token_file; /* the agent token (a bearer token), first line of this file */
	char *server_ca;	 /* CA certificates (PEM) for the server; NULL: the system's */
	char *server_pinned_key; /* the server's public key, a PEM/DER file or sha256//BASE64;
				  * without server_ca it replaces the CA check */
	char *server_cert;	 /* a client certificate (PEM), when the server asks for one */
	char *server_key;	 /* its key; NULL: in server_cert */
};

#define AGENT_CONFIG_DEFAULT_PATH "/etc/tuxtape/agent.conf"
#define AGENT_STATE_DEFAULT_DIR "/var/lib/tuxtape-agent"

/* Fills RET with the defaults, then PATH's settings (NULL: defaults only). -EINVAL logged. */
int agent_config_load(const char *path, struct agent_config *ret);
void agent_config_release(struct agent_config *c);
