/* hpcless function ABI, version 1 (C, so any compiler can build a package).
 *
 * A function package is a shared library that exports one symbol:
 *
 *     const hpcless_manifest* hpcless_manifest_v1(void);
 *
 * The manifest lists named entry points; a function's id on the wire is its index in that list.
 * The executor never scans the symbol table.
 *
 * Each entry point is called as
 *
 *     int fn(hpcless_context* ctx, const uint8_t* input, size_t input_len, hpcless_output* out);
 *
 * and returns 0 on success. On failure it returns non-zero and may describe the failure with
 * ctx->api->set_error(ctx, "message"); the client receives status "function failed" and that message.
 *
 * Ownership: `input` belongs to the executor and is valid only during the call. The output sink
 * belongs to the executor; the function writes into it through the API (or directly into
 * out->data after reserving capacity) and never frees it. Functions must not keep pointers to
 * either after returning.
 *
 * Threading: one worker thread calls a function at a time per context; a package's functions may
 * run concurrently on different worker threads, so global state in a package must be thread-safe.
 */
#ifndef HPCLESS_FUNCTION_H
#define HPCLESS_FUNCTION_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HPCLESS_ABI_VERSION 1u
#define HPCLESS_MANIFEST_SYMBOL "hpcless_manifest_v1"

typedef struct hpcless_context hpcless_context;
typedef struct hpcless_output hpcless_output;

/* Phases timed separately in benchmark records. */
typedef enum hpcless_phase {
  HPCLESS_PHASE_DOWNLOAD = 0,
  HPCLESS_PHASE_COMPUTE = 1,
  HPCLESS_PHASE_UPLOAD = 2,
  HPCLESS_PHASE_COUNT = 3
} hpcless_phase;

/* Return codes of the storage calls. */
#define HPCLESS_STORAGE_OK 0
#define HPCLESS_STORAGE_NOT_FOUND 1
#define HPCLESS_STORAGE_ERROR (-1)

/* Receives data from a storage call in chunks; returns 0 to continue, non-zero to abort. */
typedef int (*hpcless_sink_fn)(void* user, const void* data, size_t len);
/* Receives one field/value pair of a hash; returns 0 to continue, non-zero to abort. */
typedef int (*hpcless_pair_sink_fn)(void* user, const char* field, size_t field_len,
                                    const void* value, size_t value_len);

/* A group invocation (docs/communication.md, "Group invocation"): the client invoked one function
 * on every leased core at once, as the ranks of one communicator. Strings are NUL-terminated,
 * owned by the host and valid during the call only. */
typedef struct hpcless_group_info {
  int32_t rank;            /* 0 .. size-1 */
  int32_t size;            /* ranks in the group */
  const char* group;       /* unique id of this group invocation: the communicator's name */
  const char* rendezvous;  /* store to meet through: "http://host:port" (the manager's /v1/kv,
                              authenticated with the worker's HPCLESS_API_TOKEN) or
                              "tcp://host:port" (a comm TcpStore) */
  const char* channel;     /* "direct", "redis", "s3" or "auto" (cost model) */
  const char* listen_host; /* address of this worker as the client reached it: where the direct
                              channel should listen so that the other ranks can connect */
  uint32_t timeout_ms;     /* deadline of the group's blocking calls, from the function's start */
  uint64_t message_bytes;  /* expected bytes per collective (auto channel choice); 0: unknown */
} hpcless_group_info;

/* Return codes of group_info. */
#define HPCLESS_GROUP_OK 0
#define HPCLESS_GROUP_NONE 1 /* this invocation is not part of a group */

/* Services of the executor, reached through ctx->api (so packages need no link-time symbols). */
typedef struct hpcless_host_api {
  uint32_t abi_version; /* HPCLESS_ABI_VERSION */
  uint32_t struct_size; /* sizeof(hpcless_host_api) of the executor; grows only at the end */
  /* Ensures out has room for `extra` more bytes past out->size. Returns 0, or -1 when the
   * output would exceed the connection's payload limit (or memory is exhausted). */
  int (*output_reserve)(hpcless_output* out, size_t extra);
  /* Copies bytes to the end of the output. Returns 0 or -1 as output_reserve. */
  int (*output_append)(hpcless_output* out, const void* data, size_t len);
  /* Sets the error message returned with a non-zero status (copied; truncated at 1 KiB). */
  void (*set_error)(hpcless_context* ctx, const char* message);
  /* Starts and ends a timed phase; times are reported with the invocation. */
  void (*phase_begin)(hpcless_context* ctx, hpcless_phase phase);
  void (*phase_end)(hpcless_context* ctx, hpcless_phase phase);
  /* Monotonic nanoseconds, the same clock as the server timestamps. */
  uint64_t (*now_ns)(void);

  /* ---- Storage (added after the first release: check HPCLESS_API_HAS(api, member) first) ----
   *
   * Object storage (S3) and key-value storage (Redis) of the run, configured on the executor
   * (the "storage" section of its config). Every call returns HPCLESS_STORAGE_OK (0), or
   * HPCLESS_STORAGE_NOT_FOUND (1) where documented, or HPCLESS_STORAGE_ERROR (-1): then
   * storage_error() describes the failure (also when no storage is configured). Strings are
   * (pointer, length) pairs and need not be NUL-terminated. Data is handed out through a sink
   * called zero or more times with consecutive chunks; a sink returning non-zero aborts the call
   * with HPCLESS_STORAGE_ERROR. Calls block the worker thread until done (or the storage
   * client's own timeout, which gives an error). */
  /* Message of the last failed storage call on this context: NUL-terminated, owned by the host,
   * valid until the next storage call on this context. Never NULL. */
  const char* (*storage_error)(hpcless_context* ctx);
  /* The run's benchmark bucket, through the sink. */
  int (*storage_bucket)(hpcless_context* ctx, hpcless_sink_fn sink, void* user);
  /* Reads a whole object. NOT_FOUND when the bucket holds no such key. */
  int (*object_get)(hpcless_context* ctx, const char* bucket, size_t bucket_len, const char* key,
                    size_t key_len, hpcless_sink_fn sink, void* user);
  /* Writes (replaces) a whole object. */
  int (*object_put)(hpcless_context* ctx, const char* bucket, size_t bucket_len, const char* key,
                    size_t key_len, const void* data, size_t data_len);
  /* Key-value strings. kv_get and kv_del give NOT_FOUND for a missing key. */
  int (*kv_get)(hpcless_context* ctx, const char* key, size_t key_len, hpcless_sink_fn sink,
                void* user);
  int (*kv_set)(hpcless_context* ctx, const char* key, size_t key_len, const void* value,
                size_t value_len);
  int (*kv_del)(hpcless_context* ctx, const char* key, size_t key_len);
  /* Hashes (a key holding field -> value pairs), e.g. one shopping cart. kv_hget gives NOT_FOUND
   * for a missing key or field; kv_hgetall calls `pair` once per field (none for a missing key). */
  int (*kv_hset)(hpcless_context* ctx, const char* key, size_t key_len, const char* field,
                 size_t field_len, const void* value, size_t value_len);
  int (*kv_hget)(hpcless_context* ctx, const char* key, size_t key_len, const char* field,
                 size_t field_len, hpcless_sink_fn sink, void* user);
  int (*kv_hgetall)(hpcless_context* ctx, const char* key, size_t key_len,
                    hpcless_pair_sink_fn pair, void* user);

  /* ---- Groups (added later: check HPCLESS_API_HAS(api, group_info) first) ----
   * Fills *info and returns HPCLESS_GROUP_OK in a group invocation; returns HPCLESS_GROUP_NONE
   * (and leaves *info alone) otherwise. ctx->rank and ctx->size carry the same rank and size. */
  int (*group_info)(hpcless_context* ctx, hpcless_group_info* info);
} hpcless_host_api;

/* True when the executor's API table has `member` (older executors have a shorter table). */
#define HPCLESS_API_HAS(api, member)                  \
  ((api)->struct_size >= offsetof(hpcless_host_api, member) + sizeof(((hpcless_host_api*)0)->member))

struct hpcless_output {
  uint8_t* data;   /* bytes written so far start here */
  size_t size;     /* bytes written */
  size_t capacity; /* bytes available at data before a reserve is needed */
  void* host;      /* executor's private state */
};

struct hpcless_context {
  const hpcless_host_api* api;
  uint32_t worker_id;   /* worker thread serving this invocation */
  uint32_t function_id; /* index in the manifest */
  uint64_t request_id;
  int32_t rank; /* rank in a group invocation, 0 otherwise */
  int32_t size; /* group size, 1 otherwise */
  void* host;   /* executor's private state */
};

typedef int (*hpcless_entry_fn)(hpcless_context* ctx, const uint8_t* input, size_t input_len,
                                hpcless_output* out);

typedef struct hpcless_entry {
  const char* name; /* unique within the package, at most 255 bytes */
  hpcless_entry_fn fn;
} hpcless_entry;

typedef struct hpcless_manifest {
  uint32_t abi_version; /* HPCLESS_ABI_VERSION the package was built against */
  uint32_t count;
  const hpcless_entry* entries;
  const char* package_name;
} hpcless_manifest;

typedef const hpcless_manifest* (*hpcless_manifest_fn)(void);

#ifdef __cplusplus
}
#endif

#endif /* HPCLESS_FUNCTION_H */
