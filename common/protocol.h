/* protocol — the OSC contract between stemcapd and its clients: addresses,
 * limits, the default port and the song keys, in one place.  The addresses
 * and their argument types are public (OSC surfaces and scripts rely on
 * them): extend, never rename.  Arguments are documented in stemcapd(8). */
#ifndef STEMCAP_PROTOCOL_H
#define STEMCAP_PROTOCOL_H

/* Stereo stems at the most, the mix excluded. */
#define PROTO_MAX_STEMS 8
/* UDP port stemcapd listens on by default, and the clients' default peer. */
#define PROTO_DEFAULT_PORT     9951
#define PROTO_DEFAULT_PORT_STR "9951"
#define PROTO_DEFAULT_HOST     "127.0.0.1"

/* Requests; most replies come back at the request's own address. */
#define PROTO_PING         "/stemcap/ping"
#define PROTO_PONG         "/stemcap/pong"
#define PROTO_START        "/stemcap/start"
#define PROTO_STOP         "/stemcap/stop"
#define PROTO_STATUS       "/stemcap/status"
#define PROTO_SONG         "/stemcap/song" /* and /stemcap/song/<key> */
#define PROTO_SONG_PREFIX  "/stemcap/song/"
#define PROTO_STEMS        "/stemcap/stems" /* replies: one PROTO_STEM each, then PROTO_STEMS */
#define PROTO_STEM         "/stemcap/stem"
#define PROTO_STEM_PREFIX  "/stemcap/stem/" /* /stemcap/stem/<N>/<leaf> */
#define PROTO_MIX_LEVEL    "/stemcap/mix/level"
#define PROTO_MIX_LOUDNESS "/stemcap/mix/loudness"
#define PROTO_NULL         "/stemcap/null"
#define PROTO_NULL_ALARM   "/stemcap/null/alarm"
#define PROTO_REPORT       "/stemcap/report" /* replies: PROTO_REPORT_FILE each, then it */
#define PROTO_REPORT_FILE  "/stemcap/report/file"
/* s:rule s:file f:measured f:limit s:verdict, one per [mastering] verdict of the last take */
#define PROTO_REPORT_RULE "/stemcap/report/rule"
#define PROTO_SUBSCRIBE   "/stemcap/subscribe"
#define PROTO_UNSUBSCRIBE "/stemcap/unsubscribe"
/* i:port (or none to query): replies and pushes to this UDP sender go to
 * its host at this port from now on; 0: back to the default.  Answered
 * with i:the port they now go to, at that port. */
#define PROTO_REPLY_PORT  "/stemcap/reply_port"
#define PROTO_FOLLOW      "/stemcap/transport/follow"
#define PROTO_STATS       "/stemcap/stats"
#define PROTO_STATS_RESET "/stemcap/stats/reset"
/* Pushed to subscribers while a take records: s:text, a [mastering] rule a
 * file breaks (once per rule and file and take). */
#define PROTO_WARNING "/stemcap/warning"
/* A failed request is answered here: s:request address, s:reason. */
#define PROTO_ERROR "/stemcap/error"

/* Leaves of /stemcap/stem/<N>/<leaf>. */
#define PROTO_LEAF_ARM   "arm"
#define PROTO_LEAF_LEVEL "level"
#define PROTO_LEAF_NAME  "name"
/* f:integrated_lufs f:lra_lu f:true_peak_dbtp f:max_momentary f:max_short_term of the
 * current or last take's file (-150 where nothing was measured). */
#define PROTO_LEAF_LOUDNESS "loudness"

/* The [song] keys, in the order of the manifest and of /stemcap/song. */
#define PROTO_SONG_KEYS 7
extern const char *const proto_song_keys[PROTO_SONG_KEYS];

/* "/stemcap/stem/<n>/<leaf>" into OUT (40 bytes suffice).  Returns OUT. */
char *proto_stem_path(char *out, unsigned long outsz, int n, const char *leaf);
/* The N of "/stemcap/stem/<N>/<leaf>" (up to three digits, not checked
 * against PROTO_MAX_STEMS: the caller says what is wrong) with *LEAF set,
 * or -1 when PATH is not such an address. */
int proto_stem_parse(const char *path, const char **leaf);
/* The index of a song key in proto_song_keys, or -1. */
int proto_song_key(const char *key);

#endif
