#include "comm/storage/s3_client.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "comm/base/clock.hpp"
#include "comm/base/fd.hpp"
#include "comm/storage/sigv4.hpp"
#include "comm/storage/url.hpp"
#include "comm/storage/xml_lite.hpp"

namespace hpcless::storage {

std::string_view to_string(StorageErrorKind kind) noexcept {
  switch (kind) {
    case StorageErrorKind::kCredentials:
      return "credentials";
    case StorageErrorKind::kAccessDenied:
      return "access denied";
    case StorageErrorKind::kNoSuchBucket:
      return "no such bucket";
    case StorageErrorKind::kNoSuchKey:
      return "no such key";
    case StorageErrorKind::kBucketExists:
      return "bucket exists";
    case StorageErrorKind::kClientError:
      return "client error";
    case StorageErrorKind::kServerError:
      return "server error";
    case StorageErrorKind::kUnreachable:
      return "unreachable";
    case StorageErrorKind::kTimeout:
      return "timeout";
    case StorageErrorKind::kProtocol:
      return "protocol";
    case StorageErrorKind::kLocal:
      return "local";
  }
  return "unknown";
}

StorageError::StorageError(StorageErrorKind kind, const std::string& message, long http_status,
                           std::string s3_code, int attempts)
    : Error(message),
      kind_(kind),
      http_status_(http_status),
      s3_code_(std::move(s3_code)),
      attempts_(attempts) {}

namespace {

constexpr size_t kMaxErrorBody = 64 * 1024;
constexpr uint64_t kMaxParts = 10000;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] {
    const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
      throw StorageError(StorageErrorKind::kLocal,
                         std::string("curl_global_init failed: ") + curl_easy_strerror(rc));
  });
}

struct CurlDeleter {
  void operator()(CURL* c) const noexcept { curl_easy_cleanup(c); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;

struct SlistDeleter {
  void operator()(curl_slist* l) const noexcept { curl_slist_free_all(l); }
};
using SlistPtr = std::unique_ptr<curl_slist, SlistDeleter>;

void append_header(SlistPtr& list, const std::string& line) {
  curl_slist* next = curl_slist_append(list.get(), line.c_str());
  if (next == nullptr) throw std::bad_alloc();
  (void)list.release();
  list.reset(next);
}

// Where the body of a successful response goes. reset() is called before every attempt so that a
// retried download starts from scratch.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void reset() = 0;
  virtual bool write(const char* data, size_t n) = 0;  // false aborts the transfer
  virtual std::string failure() const { return {}; }
};

class StringSink final : public Sink {
 public:
  explicit StringSink(std::string& out) : out_(out) {}
  void reset() override { out_.clear(); }
  bool write(const char* data, size_t n) override {
    out_.append(data, n);
    return true;
  }

 private:
  std::string& out_;
};

class FileSink final : public Sink {
 public:
  FileSink(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  void reset() override {
    if (ftruncate(fd_, 0) != 0 || lseek(fd_, 0, SEEK_SET) != 0) err_ = errno;
    written_ = 0;
  }
  bool write(const char* data, size_t n) override {
    if (err_ != 0) return false;
    while (n > 0) {
      const ssize_t w = ::write(fd_, data, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        err_ = errno;
        return false;
      }
      data += w;
      n -= static_cast<size_t>(w);
      written_ += static_cast<uint64_t>(w);
    }
    return true;
  }
  std::string failure() const override {
    return err_ ? "cannot write " + path_ + ": " + std::strerror(err_) : std::string();
  }
  uint64_t written() const { return written_; }

 private:
  int fd_;
  std::string path_;
  int err_ = 0;
  uint64_t written_ = 0;
};

struct HttpRequest {
  std::string method;
  std::string bucket;  // empty: service-level request
  std::string key;     // raw key, empty for bucket-level requests
  std::vector<std::pair<std::string, std::string>> query;    // raw names/values
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, all signed
  std::string_view body;
  Sink* sink = nullptr;  // body of a 2xx answer; nullptr: kept in HttpResponse::body
  // S3 can answer 200 and still put an <Error> document in the body (CompleteMultipartUpload).
  bool error_in_200 = false;
};

struct HttpResponse {
  long status = 0;
  std::string body;                            // error bodies, and 2xx bodies without a sink
  std::map<std::string, std::string> headers;  // lower-case names
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

// State shared with the libcurl callbacks of one attempt.
struct Transfer {
  CURL* handle = nullptr;
  const HttpRequest* req = nullptr;
  HttpResponse* resp = nullptr;
  std::string_view body;  // remaining upload bytes
  bool sink_failed = false;
  uint64_t received = 0;
};

size_t read_cb(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = std::min(size * n, t->body.size());
  if (len > 0) std::memcpy(buf, t->body.data(), len);
  t->body.remove_prefix(len);
  return len;
}

size_t write_cb(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  long status = 0;
  curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300 && t->req->sink != nullptr) {
    if (!t->req->sink->write(data, len)) {
      t->sink_failed = true;
      return 0;  // aborts with CURLE_WRITE_ERROR
    }
  } else if (status >= 200 && status < 300) {
    t->resp->body.append(data, len);
  } else if (t->resp->body.size() < kMaxErrorBody) {
    t->resp->body.append(data, std::min(len, kMaxErrorBody - t->resp->body.size()));
  }
  t->received += len;
  return len;
}

size_t header_cb(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  std::string_view line(data, len);
  if (line.rfind("HTTP/", 0) == 0) {
    t->resp->headers.clear();  // a new response (after 100-continue): forget the old headers
    return len;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  std::string name(line.substr(0, colon));
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  t->resp->headers[name] = std::string(value);
  return len;
}

bool retryable_curl_error(CURLcode rc) {
  switch (rc) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
      return true;
    default:
      return false;
  }
}

bool retryable_status(long status, const std::string& code) {
  if (status >= 500 || status == 429) return true;
  // S3 sends 400 RequestTimeout when the client was too slow to send the body.
  return code == "RequestTimeout" || code == "SlowDown" || code == "InternalError";
}

std::string strip_quotes(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

std::string seconds_text(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f s", static_cast<double>(ns) / 1e9);
  return buf;
}

std::string object_name(const std::string& bucket, const std::string& key) {
  return key.empty() ? "bucket '" + bucket + "'" : "'" + bucket + "/" + key + "'";
}

}  // namespace

struct S3Client::Impl {
  S3Config cfg;
  Endpoint ep;
  sigv4::Credentials creds;

  std::mutex pool_mu;  // guards idle
  std::vector<CurlPtr> idle;

  std::atomic<uint64_t> requests{0}, attempts{0}, retries{0}, failed{0}, sent{0}, received{0};

  explicit Impl(S3Config c) : cfg(std::move(c)) {
    validate(cfg);
    ep = parse_endpoint(cfg.endpoint, "storage.s3.endpoint");
    creds = sigv4::Credentials{cfg.access_key, cfg.secret_key, cfg.region, "s3"};
    global_init();
  }

  CurlPtr acquire() {
    {
      std::lock_guard<std::mutex> lock(pool_mu);
      if (!idle.empty()) {
        CurlPtr h = std::move(idle.back());
        idle.pop_back();
        return h;
      }
    }
    CurlPtr h(curl_easy_init());
    if (!h) throw StorageError(StorageErrorKind::kLocal, "curl_easy_init failed");
    return h;
  }

  void release(CurlPtr h) {
    std::lock_guard<std::mutex> lock(pool_mu);
    if (idle.size() < static_cast<size_t>(cfg.max_idle_handles)) idle.push_back(std::move(h));
  }

  // Host name and URI path of a request, by addressing style.
  std::string host_name(const std::string& bucket) const {
    return cfg.path_style || bucket.empty() ? ep.host : bucket + "." + ep.host;
  }
  std::string path(const std::string& bucket, const std::string& key) const {
    std::string p = "/";
    if (cfg.path_style && !bucket.empty()) {
      p += sigv4::uri_encode(bucket, true);
      if (!key.empty()) p += "/";
    }
    p += sigv4::uri_encode(key, false);
    return p;
  }

  std::string describe(const HttpRequest& r) const {
    return r.method + " " + object_name(r.bucket, r.key);
  }

  // The error for a final non-2xx answer.
  StorageError http_error(const HttpRequest& r, const HttpResponse& resp, int n_attempts,
                          uint64_t elapsed_ns) const {
    const std::string code = xml::text(resp.body, "Code").value_or("");
    const std::string msg = xml::text(resp.body, "Message").value_or("");
    const std::string status = "HTTP " + std::to_string(resp.status) +
                               (code.empty() ? "" : " " + code) + (msg.empty() ? "" : ": " + msg);
    const std::string at = " at " + cfg.endpoint;
    auto make = [&](StorageErrorKind kind, const std::string& text) {
      return StorageError(kind, text, resp.status, code, n_attempts);
    };
    if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "InvalidToken" ||
        code == "ExpiredToken" || code == "AuthorizationHeaderMalformed") {
      std::string key_hint = cfg.access_key.substr(0, std::min<size_t>(4, cfg.access_key.size()));
      return make(StorageErrorKind::kCredentials,
                  "S3" + at + " rejected the credentials (" + status + ") for access key '" +
                      key_hint + "...' on " + describe(r) +
                      ": check access_key/secret_key (storage.s3 in the config, or "
                      "HPCLESS_S3_ACCESS_KEY/HPCLESS_S3_SECRET_KEY) and region '" +
                      cfg.region + "'");
    }
    if (code == "NoSuchBucket")
      return make(StorageErrorKind::kNoSuchBucket,
                  "bucket '" + r.bucket + "' does not exist" + at + " (" + status + ") on " +
                      describe(r) + ": create it or fix the bucket name (storage.s3.bucket)");
    if (code == "NoSuchKey")
      return make(StorageErrorKind::kNoSuchKey, "object '" + r.key + "' not found in bucket '" +
                                                    r.bucket + "'" + at + " (" + status + ")");
    if (code == "NoSuchUpload")
      return make(StorageErrorKind::kClientError,
                  "multipart upload of " + object_name(r.bucket, r.key) + " no longer exists" + at +
                      " (" + status + ")");
    if (resp.status == 403 && code.empty())  // HEAD answers have no body, hence no code
      return make(StorageErrorKind::kAccessDenied,
                  "S3" + at + " refused " + describe(r) +
                      " (HTTP 403 without an error code): check access_key/secret_key "
                      "(storage.s3 or HPCLESS_S3_ACCESS_KEY/HPCLESS_S3_SECRET_KEY), or the "
                      "credentials lack permission");
    if (code == "AccessDenied")
      return make(StorageErrorKind::kAccessDenied,
                  "access denied to " + object_name(r.bucket, r.key) + at + " (" + status +
                      "): the credentials are valid but lack permission for " + r.method);
    if (code == "BucketAlreadyExists" || code == "BucketAlreadyOwnedByYou")
      return make(StorageErrorKind::kBucketExists,
                  "bucket '" + r.bucket + "' already exists" + at + " (" + status + ")");
    if (resp.status == 404 && code.empty())
      return make(StorageErrorKind::kNoSuchKey,
                  object_name(r.bucket, r.key) + " not found" + at + " (HTTP 404)");
    if (resp.status >= 500 || resp.status == 429 || retryable_status(resp.status, code))
      return make(StorageErrorKind::kServerError,
                  "S3" + at + " answered " + status + " to " + describe(r) + " after " +
                      std::to_string(n_attempts) + " attempt(s) over " + seconds_text(elapsed_ns) +
                      " (retry policy: max_attempts " + std::to_string(cfg.retry.max_attempts) +
                      ", deadline " + std::to_string(cfg.retry.deadline.count()) + " ms)");
    if (resp.status >= 300 && resp.status < 400)
      return make(StorageErrorKind::kClientError,
                  "S3" + at + " redirected " + describe(r) + " (" + status +
                      "): the bucket is probably in another region than '" + cfg.region +
                      "' or needs another endpoint" +
                      (resp.header("x-amz-bucket-region").empty()
                           ? std::string()
                           : " (bucket region: " + resp.header("x-amz-bucket-region") + ")"));
    return make(StorageErrorKind::kClientError,
                "S3" + at + " refused " + describe(r) + " (" + status + ")");
  }

  // One attempt. Returns the curl result; fills resp.
  CURLcode attempt(CURL* h, const HttpRequest& r, HttpResponse& resp, long timeout_ms,
                   std::string& curl_error, bool& sink_failed) {
    curl_easy_reset(h);
    resp = HttpResponse{};
    if (r.sink) r.sink->reset();

    const std::string host = host_name(r.bucket);
    const std::string uri = path(r.bucket, r.key);
    const std::string query = sigv4::canonical_query(r.query);
    const std::string url = ep.origin(host) + uri + (query.empty() ? "" : "?" + query);

    // Sign exactly the headers we send (curl adds none of its own to the signed set).
    const std::string date = sigv4::amz_date(std::time(nullptr));
    const std::string payload_hash = cfg.sign_payload || r.body.empty()
                                         ? sigv4::sha256_hex(r.body)
                                         : std::string(sigv4::kUnsignedPayload);
    sigv4::Request sr;
    sr.method = r.method;
    sr.canonical_uri = uri;
    sr.query = r.query;
    sr.headers = r.headers;
    sr.headers.emplace_back("host", ep.host_header(host));
    sr.headers.emplace_back("x-amz-date", date);
    sr.headers.emplace_back("x-amz-content-sha256", payload_hash);
    sr.payload_hash = payload_hash;

    SlistPtr headers;
    for (const auto& [name, value] : sr.headers) append_header(headers, name + ": " + value);
    append_header(headers, "Authorization: " + sigv4::authorization(sr, creds, date));
    append_header(headers, "Expect:");  // no 100-continue round trip before uploads

    Transfer t;
    t.handle = h;
    t.req = &r;
    t.resp = &resp;
    t.body = r.body;
    char errbuf[CURL_ERROR_SIZE] = {0};

    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts: thread-safe
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                     std::min<long>(static_cast<long>(cfg.connect_timeout.count()), timeout_ms));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    if (r.method == "GET") {
      curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else if (r.method == "HEAD") {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (r.method == "PUT") {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(h, CURLOPT_READFUNCTION, read_cb);
      curl_easy_setopt(h, CURLOPT_READDATA, &t);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    } else if (r.method == "POST") {
      curl_easy_setopt(h, CURLOPT_POST, 1L);
      // Never NULL: libcurl would then read the body from its read callback (stdin).
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, r.body.empty() ? "" : r.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
    } else {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method.c_str());
    }

    const CURLcode rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
    sink_failed = t.sink_failed;
    curl_error = errbuf[0] ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    if (rc == CURLE_OK) {
      sent += r.body.size();
      if (resp.status >= 200 && resp.status < 300) received += t.received;
    }
    // Drop the header list's pointer from the handle before the list dies.
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, nullptr);
    return rc;
  }

  // One logical request with retries. Returns the 2xx response; throws StorageError otherwise.
  // `accept_404` returns a 404 answer instead of throwing (HEAD of a missing object).
  HttpResponse perform(const HttpRequest& r, bool accept_404 = false) {
    ++requests;
    const uint64_t start = now_ns();
    const Deadline deadline = Deadline::after(cfg.retry.deadline);
    CurlPtr h = acquire();
    HttpResponse resp;
    std::string curl_error;
    CURLcode last_rc = CURLE_OK;
    int n = 0;
    thread_local std::mt19937_64 rng(std::random_device{}() ^
                                     std::hash<std::thread::id>{}(std::this_thread::get_id()));
    while (true) {
      const int remaining = deadline.remaining_ms();
      if (n > 0 && remaining <= 0) break;
      ++n;
      ++attempts;
      if (n > 1) ++retries;
      const long timeout_ms = std::max<long>(
          1, std::min<long>(static_cast<long>(cfg.request_timeout.count()), remaining));
      bool sink_failed = false;
      last_rc = attempt(h.get(), r, resp, timeout_ms, curl_error, sink_failed);
      if (sink_failed) {
        ++failed;
        release(std::move(h));
        throw StorageError(StorageErrorKind::kLocal, r.sink->failure().empty()
                                                         ? "cannot store the body of " + describe(r)
                                                         : r.sink->failure());
      }
      bool retry = false;
      if (last_rc != CURLE_OK) {
        retry = retryable_curl_error(last_rc);
        if (!retry) break;
      } else {
        const bool ok = resp.status >= 200 && resp.status < 300;
        if (ok && r.error_in_200 && xml::root_name(resp.body) == "Error") {
          const std::string code = xml::text(resp.body, "Code").value_or("");
          retry = retryable_status(500, code);
          resp.status = 500;  // report it as the server error it is
          if (!retry) break;
        } else if (ok || (accept_404 && resp.status == 404)) {
          release(std::move(h));
          return resp;
        } else {
          retry = retryable_status(resp.status, xml::text(resp.body, "Code").value_or(""));
          if (!retry) break;
        }
      }
      if (n >= cfg.retry.max_attempts) break;
      // Exponential backoff with jitter in [b/2, b]; never sleep past the deadline.
      const int64_t cap = cfg.retry.max_backoff.count();
      int64_t b = cfg.retry.initial_backoff.count();
      for (int i = 1; i < n && b < cap; ++i) b *= 2;
      b = std::min(b, cap);
      std::uniform_int_distribution<int64_t> dist(b / 2, std::max<int64_t>(b / 2, b));
      const int64_t sleep_ms = dist(rng);
      if (deadline.remaining_ms() <= sleep_ms) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(sleep_ms));
    }
    ++failed;
    // A handle that saw a transport error may hold a broken connection; drop it.
    if (last_rc == CURLE_OK) release(std::move(h));
    const uint64_t elapsed = now_ns() - start;
    if (last_rc != CURLE_OK) {
      const bool timeout = last_rc == CURLE_OPERATION_TIMEDOUT;
      const std::string text =
          "S3 endpoint " + cfg.endpoint + (timeout ? " timed out" : " unreachable") + ": " +
          describe(r) + " failed after " + std::to_string(n) + " attempt(s) over " +
          seconds_text(elapsed) + " (retry policy: max_attempts " +
          std::to_string(cfg.retry.max_attempts) + ", deadline " +
          std::to_string(cfg.retry.deadline.count()) + " ms; per attempt: connect timeout " +
          std::to_string(cfg.connect_timeout.count()) + " ms, request timeout " +
          std::to_string(cfg.request_timeout.count()) + " ms); last error: " + curl_error;
      throw StorageError(timeout ? StorageErrorKind::kTimeout
                                 : (retryable_curl_error(last_rc) ? StorageErrorKind::kUnreachable
                                                                  : StorageErrorKind::kProtocol),
                         text, 0, {}, n);
    }
    throw http_error(r, resp, n, elapsed);
  }

  std::string put_single(const std::string& bucket, const std::string& key, std::string_view data,
                         const std::string& content_type) {
    HttpRequest r;
    r.method = "PUT";
    r.bucket = bucket;
    r.key = key;
    r.body = data;
    r.headers.emplace_back("content-type", content_type);
    return strip_quotes(perform(r).header("etag"));
  }

  // Multipart upload; `read_part(index, offset, length, buffer)` provides the bytes of a part.
  template <class ReadPart>
  std::string put_multipart(const std::string& bucket, const std::string& key, uint64_t size,
                            const std::string& content_type, ReadPart&& read_part) {
    uint64_t part = cfg.part_size;
    if ((size + part - 1) / part > kMaxParts) {
      part = (size + kMaxParts - 1) / kMaxParts;
      part = (part + (1u << 20) - 1) & ~uint64_t((1u << 20) - 1);  // round up to a MiB
    }
    HttpRequest init;
    init.method = "POST";
    init.bucket = bucket;
    init.key = key;
    init.query = {{"uploads", ""}};
    init.headers.emplace_back("content-type", content_type);
    init.error_in_200 = true;
    const HttpResponse ir = perform(init);
    const std::string upload_id = xml::text(ir.body, "UploadId").value_or("");
    if (upload_id.empty())
      throw StorageError(StorageErrorKind::kProtocol,
                         "S3 at " + cfg.endpoint + " started a multipart upload of " +
                             object_name(bucket, key) + " without an UploadId",
                         ir.status);
    try {
      std::string complete = "<CompleteMultipartUpload>";
      std::string buffer;
      uint64_t offset = 0;
      for (uint64_t index = 1; offset < size; ++index) {
        const uint64_t len = std::min(part, size - offset);
        std::string_view bytes = read_part(offset, len, buffer);
        HttpRequest pr;
        pr.method = "PUT";
        pr.bucket = bucket;
        pr.key = key;
        pr.query = {{"partNumber", std::to_string(index)}, {"uploadId", upload_id}};
        pr.body = bytes;
        const std::string etag = perform(pr).header("etag");
        if (etag.empty())
          throw StorageError(StorageErrorKind::kProtocol,
                             "S3 at " + cfg.endpoint + " accepted part " + std::to_string(index) +
                                 " of " + object_name(bucket, key) + " without an ETag");
        complete += "<Part><PartNumber>" + std::to_string(index) + "</PartNumber><ETag>" +
                    xml::escape(etag) + "</ETag></Part>";
        offset += len;
      }
      complete += "</CompleteMultipartUpload>";
      HttpRequest cr;
      cr.method = "POST";
      cr.bucket = bucket;
      cr.key = key;
      cr.query = {{"uploadId", upload_id}};
      cr.headers.emplace_back("content-type", "application/xml");
      cr.body = complete;
      cr.error_in_200 = true;
      const HttpResponse done = perform(cr);
      return strip_quotes(xml::text(done.body, "ETag").value_or(done.header("etag")));
    } catch (...) {
      // Best effort: parts of an unfinished upload are billed on AWS until aborted.
      try {
        HttpRequest ar;
        ar.method = "DELETE";
        ar.bucket = bucket;
        ar.key = key;
        ar.query = {{"uploadId", upload_id}};
        perform(ar);
      } catch (const StorageError&) {
      }
      throw;
    }
  }

  void delete_batch(const std::string& bucket, const std::vector<std::string>& keys, size_t from,
                    size_t to) {
    std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>true</Quiet>";
    for (size_t i = from; i < to; ++i)
      body += "<Object><Key>" + xml::escape(keys[i]) + "</Key></Object>";
    body += "</Delete>";
    HttpRequest r;
    r.method = "POST";
    r.bucket = bucket;
    r.query = {{"delete", ""}};
    r.headers.emplace_back("content-type", "application/xml");
    r.headers.emplace_back("content-md5", sigv4::md5_base64(body));
    r.body = body;
    r.error_in_200 = true;
    const HttpResponse resp = perform(r);
    const auto errors = xml::elements(resp.body, "Error");
    if (!errors.empty()) {
      std::string list;
      for (size_t i = 0; i < errors.size() && i < 5; ++i) {
        list += (i ? ", " : "") + xml::text(errors[i], "Key").value_or("?") + " (" +
                xml::text(errors[i], "Code").value_or("?") + ")";
      }
      throw StorageError(StorageErrorKind::kClientError,
                         "S3 at " + cfg.endpoint + " could not delete " +
                             std::to_string(errors.size()) + " object(s) in bucket '" + bucket +
                             "': " + list,
                         resp.status, xml::text(errors[0], "Code").value_or(""));
    }
  }
};

S3Client::S3Client(S3Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
S3Client::~S3Client() = default;
S3Client::S3Client(S3Client&&) noexcept = default;
S3Client& S3Client::operator=(S3Client&&) noexcept = default;

const S3Config& S3Client::config() const noexcept { return impl_->cfg; }

S3Stats S3Client::stats() const noexcept {
  S3Stats s;
  s.requests = impl_->requests.load();
  s.attempts = impl_->attempts.load();
  s.retries = impl_->retries.load();
  s.failed_requests = impl_->failed.load();
  s.bytes_sent = impl_->sent.load();
  s.bytes_received = impl_->received.load();
  return s;
}

std::string S3Client::object_url(const std::string& bucket, const std::string& key) const {
  return impl_->ep.origin(impl_->host_name(bucket)) + impl_->path(bucket, key);
}

std::string S3Client::put_object(const std::string& bucket, const std::string& key,
                                 std::string_view data, const std::string& content_type) {
  if (data.size() < impl_->cfg.multipart_threshold)
    return impl_->put_single(bucket, key, data, content_type);
  return impl_->put_multipart(
      bucket, key, data.size(), content_type,
      [&](uint64_t offset, uint64_t len, std::string&) { return data.substr(offset, len); });
}

std::string S3Client::put_object_from_file(const std::string& bucket, const std::string& key,
                                           const std::string& path,
                                           const std::string& content_type) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd)
    throw StorageError(StorageErrorKind::kLocal,
                       "cannot open " + path + " for upload: " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
    throw StorageError(StorageErrorKind::kLocal, path + " is not a regular file");
  const auto size = static_cast<uint64_t>(st.st_size);
  auto read_range = [&](uint64_t offset, uint64_t len, std::string& buffer) -> std::string_view {
    buffer.resize(len);
    uint64_t done = 0;
    while (done < len) {
      const ssize_t n =
          ::pread(fd.get(), buffer.data() + done, len - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        throw StorageError(StorageErrorKind::kLocal,
                           "cannot read " + path + ": " +
                               (n == 0 ? std::string("file shrank during upload")
                                       : std::string(std::strerror(errno))));
      done += static_cast<uint64_t>(n);
    }
    return buffer;
  };
  if (size < impl_->cfg.multipart_threshold) {
    std::string buffer;
    return impl_->put_single(bucket, key, read_range(0, size, buffer), content_type);
  }
  return impl_->put_multipart(bucket, key, size, content_type, read_range);
}

std::string S3Client::get_object(const std::string& bucket, const std::string& key,
                                 std::optional<ByteRange> range) {
  std::string out;
  get_object_into(bucket, key, out, range);
  return out;
}

size_t S3Client::get_object_into(const std::string& bucket, const std::string& key,
                                 std::string& out, std::optional<ByteRange> range) {
  StringSink sink(out);
  HttpRequest r;
  r.method = "GET";
  r.bucket = bucket;
  r.key = key;
  r.sink = &sink;
  if (range) {
    if (range->length && *range->length == 0) {
      out.clear();
      return 0;
    }
    std::string v = "bytes=" + std::to_string(range->offset) + "-";
    if (range->length) v += std::to_string(range->offset + *range->length - 1);
    r.headers.emplace_back("range", v);
  }
  impl_->perform(r);
  return out.size();
}

std::optional<std::string> S3Client::try_get_object(const std::string& bucket,
                                                    const std::string& key) {
  try {
    return get_object(bucket, key);
  } catch (const StorageError& e) {
    if (e.kind() == StorageErrorKind::kNoSuchKey) return std::nullopt;
    throw;
  }
}

uint64_t S3Client::get_object_to_file(const std::string& bucket, const std::string& key,
                                      const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd)
    throw StorageError(StorageErrorKind::kLocal,
                       "cannot create " + path + ": " + std::strerror(errno));
  FileSink sink(fd.get(), path);
  HttpRequest r;
  r.method = "GET";
  r.bucket = bucket;
  r.key = key;
  r.sink = &sink;
  impl_->perform(r);
  return sink.written();
}

std::optional<ObjectInfo> S3Client::head_object(const std::string& bucket, const std::string& key) {
  HttpRequest r;
  r.method = "HEAD";
  r.bucket = bucket;
  r.key = key;
  const HttpResponse resp = impl_->perform(r, /*accept_404=*/true);
  if (resp.status == 404) return std::nullopt;
  ObjectInfo info;
  const std::string len = resp.header("content-length");
  try {
    info.size = len.empty() ? 0 : std::stoull(len);
  } catch (const std::exception&) {
    throw StorageError(StorageErrorKind::kProtocol,
                       "S3 at " + impl_->cfg.endpoint + " sent Content-Length '" + len + "' for " +
                           object_name(bucket, key),
                       resp.status);
  }
  info.etag = strip_quotes(resp.header("etag"));
  info.last_modified = resp.header("last-modified");
  return info;
}

void S3Client::delete_object(const std::string& bucket, const std::string& key) {
  HttpRequest r;
  r.method = "DELETE";
  r.bucket = bucket;
  r.key = key;
  impl_->perform(r);
}

void S3Client::delete_objects(const std::string& bucket, const std::vector<std::string>& keys) {
  for (size_t from = 0; from < keys.size(); from += 1000)
    impl_->delete_batch(bucket, keys, from, std::min(keys.size(), from + 1000));
}

size_t S3Client::delete_prefix(const std::string& bucket, const std::string& prefix) {
  const std::vector<std::string> keys = list_keys(bucket, prefix);
  delete_objects(bucket, keys);
  return keys.size();
}

ListPage S3Client::list_objects_v2_page(const std::string& bucket, const std::string& prefix,
                                        const std::string& continuation_token, int max_keys) {
  if (max_keys < 1 || max_keys > 1000)
    throw ConfigError("list_objects_v2: max_keys must be 1..1000, got " + std::to_string(max_keys));
  HttpRequest r;
  r.method = "GET";
  r.bucket = bucket;
  r.query = {{"list-type", "2"}, {"max-keys", std::to_string(max_keys)}};
  if (!prefix.empty()) r.query.emplace_back("prefix", prefix);
  if (!continuation_token.empty()) r.query.emplace_back("continuation-token", continuation_token);
  const HttpResponse resp = impl_->perform(r);
  if (xml::root_name(resp.body) != "ListBucketResult")
    throw StorageError(StorageErrorKind::kProtocol,
                       "S3 at " + impl_->cfg.endpoint + " answered a listing of bucket '" + bucket +
                           "' with a '" + xml::root_name(resp.body) + "' document",
                       resp.status);
  ListPage page;
  for (std::string_view c : xml::elements(resp.body, "Contents")) {
    ObjectSummary o;
    o.key = xml::text(c, "Key").value_or("");
    o.etag = strip_quotes(xml::text(c, "ETag").value_or(""));
    o.last_modified = xml::text(c, "LastModified").value_or("");
    const std::string size = xml::text(c, "Size").value_or("0");
    try {
      o.size = std::stoull(size);
    } catch (const std::exception&) {
      throw StorageError(
          StorageErrorKind::kProtocol,
          "S3 at " + impl_->cfg.endpoint + " listed key '" + o.key + "' with size '" + size + "'",
          resp.status);
    }
    page.objects.push_back(std::move(o));
  }
  page.truncated = xml::text(resp.body, "IsTruncated").value_or("false") == "true";
  page.next_continuation_token = xml::text(resp.body, "NextContinuationToken").value_or("");
  if (page.truncated && page.next_continuation_token.empty())
    throw StorageError(StorageErrorKind::kProtocol,
                       "S3 at " + impl_->cfg.endpoint + " sent a truncated listing of bucket '" +
                           bucket + "' without a continuation token",
                       resp.status);
  return page;
}

std::vector<ObjectSummary> S3Client::list_objects_v2(const std::string& bucket,
                                                     const std::string& prefix, int page_size) {
  std::vector<ObjectSummary> all;
  std::string token;
  do {
    ListPage page = list_objects_v2_page(bucket, prefix, token, page_size);
    for (auto& o : page.objects) all.push_back(std::move(o));
    if (!page.truncated) break;
    if (page.next_continuation_token == token)
      throw StorageError(StorageErrorKind::kProtocol,
                         "S3 at " + impl_->cfg.endpoint +
                             " repeated a continuation token while listing bucket '" + bucket +
                             "'");
    token = std::move(page.next_continuation_token);
  } while (true);
  return all;
}

std::vector<std::string> S3Client::list_keys(const std::string& bucket, const std::string& prefix,
                                             int page_size) {
  std::vector<std::string> keys;
  for (auto& o : list_objects_v2(bucket, prefix, page_size)) keys.push_back(std::move(o.key));
  return keys;
}

void S3Client::create_bucket(const std::string& bucket, bool ok_if_exists) {
  HttpRequest r;
  r.method = "PUT";
  r.bucket = bucket;
  std::string body;
  if (impl_->cfg.region != "us-east-1") {
    body =
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        "<LocationConstraint>" +
        xml::escape(impl_->cfg.region) + "</LocationConstraint></CreateBucketConfiguration>";
    r.body = body;
  }
  try {
    impl_->perform(r);
  } catch (const StorageError& e) {
    // Only "owned by you" is safe to accept: BucketAlreadyExists on AWS means someone else's.
    // Single-account servers (s3rver, MinIO) answer BucketAlreadyExists for one's own bucket,
    // so check that we can actually use it.
    if (!ok_if_exists || e.kind() != StorageErrorKind::kBucketExists) throw;
    if (e.s3_code() != "BucketAlreadyOwnedByYou" && !bucket_exists(bucket)) throw;
  }
}

void S3Client::delete_bucket(const std::string& bucket) {
  HttpRequest r;
  r.method = "DELETE";
  r.bucket = bucket;
  impl_->perform(r);
}

bool S3Client::bucket_exists(const std::string& bucket) {
  HttpRequest r;
  r.method = "HEAD";
  r.bucket = bucket;
  return impl_->perform(r, /*accept_404=*/true).status != 404;
}

}  // namespace hpcless::storage
