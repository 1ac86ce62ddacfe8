// S3Client against a real s3rver (started per test by tests/services). Covers round trips of odd
// keys and sizes, multipart, listing with pagination, the error kinds with their messages, and
// bounded retries when the server dies or hangs.
#include "comm/storage/s3_client.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "comm/base/clock.hpp"
#include "tests/services/test_services.hpp"

using hpcless::now_ns;
using hpcless::storage::ByteRange;
using hpcless::storage::S3Client;
using hpcless::storage::S3Config;
using hpcless::storage::StorageError;
using hpcless::storage::StorageErrorKind;
using hpcless::test::S3Server;

namespace {

constexpr const char* kBucket = "hpcless-test";

std::string random_bytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const uint64_t v = rng();
    std::memcpy(&s[i], &v, 8);
  }
  for (; i < n; ++i) s[i] = static_cast<char>(rng());
  return s;
}

double elapsed_s(uint64_t start) { return static_cast<double>(now_ns() - start) / 1e9; }

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Runs f and returns the StorageError it must throw.
template <class F>
StorageError expect_storage_error(F&& f) {
  try {
    f();
  } catch (const StorageError& e) {
    return e;
  }
  ADD_FAILURE() << "expected a StorageError";
  return StorageError(StorageErrorKind::kLocal, "none");
}

class S3ClientTest : public ::testing::Test {
 protected:
  S3Server server{{kBucket}};
  S3Client client{server.config(kBucket)};
};

}  // namespace

TEST_F(S3ClientTest, RoundTripsEmptySmallBinaryAndOddKeys) {
  const std::string binary = std::string("a\0b\xff\x00\x7f", 6) + random_bytes(1000, 1);
  const std::vector<std::pair<std::string, std::string>> objects = {
      {"empty", ""},
      {"small.txt", "hello, s3"},
      {"binary.bin", binary},
      {"dir/sub dir/with spaces and+plus=eq&amp.txt", "spaces"},
      {"unicode/\xc3\xa4\xc3\xb6\xc3\xbc \xe2\x82\xac \xe4\xb8\xad\xe6\x96\x87 "
       "\xf0\x9f\x98\x80.dat",
       "unicode"},
      {"punct/!$'()*,;:@~_-.x", "punctuation"},
  };
  for (const auto& [key, data] : objects) {
    const std::string etag = client.put_object(kBucket, key, data);
    EXPECT_FALSE(etag.empty()) << key;
    EXPECT_EQ(client.get_object(kBucket, key), data) << key;
    const auto info = client.head_object(kBucket, key);
    ASSERT_TRUE(info.has_value()) << key;
    EXPECT_EQ(info->size, data.size()) << key;
    EXPECT_EQ(info->etag, etag) << key;
  }
  std::vector<std::string> expected;
  for (const auto& o : objects) expected.push_back(o.first);
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(client.list_keys(kBucket, ""), expected);
  // The listing carries sizes too, and a prefix with a space and UTF-8 works.
  const auto listed = client.list_objects_v2(kBucket, "unicode/\xc3\xa4");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].size, 7u);
  EXPECT_EQ(client.list_keys(kBucket, "dir/sub dir/").size(), 1u);
}

TEST_F(S3ClientTest, MultipartUploadOfTwelveMiBInFiveMiBParts) {
  S3Config cfg = server.config(kBucket);
  cfg.part_size = 5ull << 20;
  cfg.multipart_threshold = 5ull << 20;
  S3Client mp(cfg);
  const std::string data = random_bytes(12ull << 20, 7);
  const auto before = mp.stats();
  mp.put_object(kBucket, "big/object.bin", data);
  const auto after = mp.stats();
  // create + 3 parts (5, 5, 2 MiB) + complete
  EXPECT_EQ(after.requests - before.requests, 5u);
  // The parts plus the small CompleteMultipartUpload document.
  EXPECT_GE(after.bytes_sent - before.bytes_sent, data.size());
  EXPECT_LT(after.bytes_sent - before.bytes_sent, data.size() + 4096);
  const auto info = mp.head_object(kBucket, "big/object.bin");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->size, data.size());
  EXPECT_EQ(mp.get_object(kBucket, "big/object.bin"), data);
  // A range across the first part boundary.
  const uint64_t off = (5ull << 20) - 100;
  EXPECT_EQ(mp.get_object(kBucket, "big/object.bin", ByteRange{off, 300}), data.substr(off, 300));
  EXPECT_EQ(mp.get_object(kBucket, "big/object.bin", ByteRange{data.size() - 10, std::nullopt}),
            data.substr(data.size() - 10));
  // Below the threshold: a single PUT.
  const auto b2 = mp.stats();
  mp.put_object(kBucket, "small-after-big", data.substr(0, 1000));
  EXPECT_EQ(mp.stats().requests - b2.requests, 1u);
}

TEST_F(S3ClientTest, FileUploadAndDownloadStreamThroughMultipart) {
  S3Config cfg = server.config(kBucket);
  cfg.part_size = 5ull << 20;
  cfg.multipart_threshold = 6ull << 20;
  S3Client mp(cfg);
  hpcless::test::TempDir dir("hpcless-s3-files");
  const std::string src = dir.path() + "/src.bin", dst = dir.path() + "/dst.bin";
  const std::string data = random_bytes((11ull << 20) + 3, 11);
  std::ofstream(src, std::ios::binary)
      .write(data.data(), static_cast<std::streamsize>(data.size()));
  mp.put_object_from_file(kBucket, "files/a.bin", src);
  EXPECT_EQ(mp.get_object_to_file(kBucket, "files/a.bin", dst), data.size());
  std::stringstream back;
  back << std::ifstream(dst, std::ios::binary).rdbuf();
  EXPECT_EQ(back.str(), data);
  // Small file: single PUT; reuse of a string buffer for downloads.
  std::ofstream(src, std::ios::binary | std::ios::trunc) << "tiny";
  mp.put_object_from_file(kBucket, "files/tiny", src);
  std::string buf;
  EXPECT_EQ(mp.get_object_into(kBucket, "files/tiny", buf), 4u);
  EXPECT_EQ(buf, "tiny");
  const auto missing =
      expect_storage_error([&] { mp.put_object_from_file(kBucket, "x", dir.path() + "/nope"); });
  EXPECT_EQ(missing.kind(), StorageErrorKind::kLocal);
  EXPECT_TRUE(contains(missing.what(), "/nope")) << missing.what();
}

TEST_F(S3ClientTest, HeadDeleteAndMissingKeys) {
  EXPECT_FALSE(client.head_object(kBucket, "nothing-here").has_value());
  client.put_object(kBucket, "doomed", "bye");
  ASSERT_TRUE(client.head_object(kBucket, "doomed").has_value());
  client.delete_object(kBucket, "doomed");
  EXPECT_FALSE(client.head_object(kBucket, "doomed").has_value());
  client.delete_object(kBucket, "doomed");  // deleting a missing key is not an error (S3)

  const auto e = expect_storage_error([&] { client.get_object(kBucket, "dir/missing key"); });
  EXPECT_EQ(e.kind(), StorageErrorKind::kNoSuchKey);
  EXPECT_TRUE(e.not_found());
  EXPECT_EQ(e.http_status(), 404);
  EXPECT_EQ(e.s3_code(), "NoSuchKey");
  EXPECT_EQ(e.attempts(), 1);  // 4xx is never retried
  EXPECT_TRUE(contains(e.what(), "'dir/missing key'")) << e.what();
  EXPECT_TRUE(contains(e.what(), kBucket)) << e.what();
  EXPECT_FALSE(client.try_get_object(kBucket, "dir/missing key").has_value());
  client.put_object(kBucket, "present", "x");
  EXPECT_EQ(client.try_get_object(kBucket, "present").value(), "x");
}

TEST_F(S3ClientTest, ListingFollowsContinuationTokensOverSmallPages) {
  for (int i = 0; i < 23; ++i) {
    char key[32];
    std::snprintf(key, sizeof(key), "runs/r1/part-%03d", i);
    client.put_object(kBucket, key, std::to_string(i));
  }
  client.put_object(kBucket, "runs/r2/other", "x");
  client.put_object(kBucket, "runs/r10/other", "x");

  // Page by page.
  std::vector<std::string> keys;
  std::string token;
  int pages = 0;
  do {
    auto page = client.list_objects_v2_page(kBucket, "runs/r1/", token, 5);
    EXPECT_LE(page.objects.size(), 5u);
    for (const auto& o : page.objects) keys.push_back(o.key);
    ++pages;
    if (!page.truncated) break;
    EXPECT_FALSE(page.next_continuation_token.empty());
    token = page.next_continuation_token;
  } while (pages < 100);
  EXPECT_EQ(pages, 5);  // 23 keys in pages of 5
  ASSERT_EQ(keys.size(), 23u);
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
  EXPECT_EQ(keys.front(), "runs/r1/part-000");
  EXPECT_EQ(keys.back(), "runs/r1/part-022");

  // All at once, with the same small page size: same keys, one request per page.
  const auto before = client.stats().requests;
  EXPECT_EQ(client.list_keys(kBucket, "runs/r1/", 5), keys);
  EXPECT_EQ(client.stats().requests - before, 5u);
  EXPECT_EQ(client.list_keys(kBucket, "runs/", 1000).size(), 25u);
  EXPECT_THROW(client.list_objects_v2_page(kBucket, "", "", 0), hpcless::ConfigError);
}

TEST_F(S3ClientTest, DeleteObjectsAndPrefix) {
  std::vector<std::string> keys;
  for (int i = 0; i < 12; ++i) {
    keys.push_back("tmp/k" + std::to_string(i));
    client.put_object(kBucket, keys.back(), "v");
  }
  client.put_object(kBucket, "keep/me", "v");
  client.delete_objects(kBucket, {keys[0], keys[1], "tmp/never-existed"});
  EXPECT_EQ(client.list_keys(kBucket, "tmp/").size(), 10u);
  EXPECT_EQ(client.delete_prefix(kBucket, "tmp/"), 10u);
  EXPECT_TRUE(client.list_keys(kBucket, "tmp/").empty());
  EXPECT_EQ(client.list_keys(kBucket, "").size(), 1u);
}

TEST_F(S3ClientTest, WrongCredentialsSayCheckTheKeys) {
  S3Config cfg = server.config(kBucket);
  cfg.access_key = "NOT-A-KEY";
  S3Client bad(cfg);
  const auto e = expect_storage_error([&] { bad.get_object(kBucket, "k"); });
  EXPECT_EQ(e.kind(), StorageErrorKind::kCredentials);
  EXPECT_EQ(e.http_status(), 403);
  EXPECT_EQ(e.s3_code(), "InvalidAccessKeyId");
  EXPECT_EQ(e.attempts(), 1);
  EXPECT_TRUE(contains(e.what(), "access_key/secret_key")) << e.what();
  EXPECT_TRUE(contains(e.what(), server.endpoint())) << e.what();
  EXPECT_FALSE(contains(e.what(), cfg.secret_key + "'")) << e.what();
  const auto p = expect_storage_error([&] { bad.put_object(kBucket, "k", "v"); });
  EXPECT_EQ(p.kind(), StorageErrorKind::kCredentials);
  // HEAD answers carry no error document: a bare 403, still pointing at the keys.
  const auto h = expect_storage_error([&] { bad.head_object(kBucket, "k"); });
  EXPECT_EQ(h.kind(), StorageErrorKind::kAccessDenied);
  EXPECT_EQ(h.http_status(), 403);
  EXPECT_TRUE(contains(h.what(), "access_key/secret_key")) << h.what();
}

TEST_F(S3ClientTest, MissingBucketIsNamed) {
  const auto e = expect_storage_error([&] { client.get_object("no-such-bucket-xyz", "k"); });
  EXPECT_EQ(e.kind(), StorageErrorKind::kNoSuchBucket);
  EXPECT_EQ(e.s3_code(), "NoSuchBucket");
  EXPECT_TRUE(contains(e.what(), "'no-such-bucket-xyz'")) << e.what();
  const auto p = expect_storage_error([&] { client.put_object("no-such-bucket-xyz", "k", "v"); });
  EXPECT_EQ(p.kind(), StorageErrorKind::kNoSuchBucket);
  const auto l = expect_storage_error([&] { client.list_keys("no-such-bucket-xyz", ""); });
  EXPECT_EQ(l.kind(), StorageErrorKind::kNoSuchBucket);
  // A missing bucket is not "key not there yet" for try_get_object.
  EXPECT_THROW(client.try_get_object("no-such-bucket-xyz", "k"), StorageError);
}

TEST_F(S3ClientTest, BucketLifecycle) {
  EXPECT_FALSE(client.bucket_exists("fresh-bucket"));
  client.create_bucket("fresh-bucket");
  EXPECT_TRUE(client.bucket_exists("fresh-bucket"));
  client.create_bucket("fresh-bucket");  // ok_if_exists
  const auto dup = expect_storage_error([&] { client.create_bucket("fresh-bucket", false); });
  EXPECT_EQ(dup.kind(), StorageErrorKind::kBucketExists);
  client.put_object("fresh-bucket", "k", "v");
  const auto not_empty = expect_storage_error([&] { client.delete_bucket("fresh-bucket"); });
  EXPECT_EQ(not_empty.kind(), StorageErrorKind::kClientError);
  EXPECT_EQ(not_empty.s3_code(), "BucketNotEmpty");
  client.delete_object("fresh-bucket", "k");
  client.delete_bucket("fresh-bucket");
  EXPECT_FALSE(client.bucket_exists("fresh-bucket"));
  EXPECT_EQ(expect_storage_error([&] { client.delete_bucket("fresh-bucket"); }).kind(),
            StorageErrorKind::kNoSuchBucket);
}

TEST_F(S3ClientTest, VirtualHostStyleAndUnsignedPayload) {
  S3Config cfg = server.config(kBucket);
  // s3rver runs with --service-endpoint localhost, so <bucket>.s3.localhost addresses a bucket;
  // libcurl resolves *.localhost to the loopback address itself.
  cfg.endpoint = "http://s3.localhost:" + std::to_string(server.port());
  cfg.path_style = false;
  cfg.sign_payload = false;
  S3Client vhost(cfg);
  EXPECT_EQ(vhost.object_url(kBucket, "a b"), "http://" + std::string(kBucket) + ".s3.localhost:" +
                                                  std::to_string(server.port()) + "/a%20b");
  vhost.put_object(kBucket, "vhost/a b", "via virtual host");
  EXPECT_EQ(vhost.get_object(kBucket, "vhost/a b"), "via virtual host");
  EXPECT_EQ(client.get_object(kBucket, "vhost/a b"), "via virtual host");  // same bucket
  EXPECT_EQ(vhost.list_keys(kBucket, "vhost/"), std::vector<std::string>{"vhost/a b"});
}

TEST_F(S3ClientTest, ConcurrentRequestsFromManyThreadsShareOneClient) {
  constexpr int kThreads = 4, kPerThread = 15;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = "mt/" + std::to_string(t) + "/" + std::to_string(i);
        const std::string value = random_bytes(100 + static_cast<size_t>(i) * 37, t * 1000 + i);
        try {
          client.put_object(kBucket, key, value);
          if (client.get_object(kBucket, key) == value) ++ok;
        } catch (const std::exception& e) {
          ADD_FAILURE() << e.what();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kThreads * kPerThread);
  EXPECT_EQ(client.list_keys(kBucket, "mt/").size(), static_cast<size_t>(kThreads * kPerThread));
  EXPECT_EQ(client.stats().retries, 0u);
}

TEST_F(S3ClientTest, KilledServerFailsAfterBoundedRetries) {
  client.put_object(kBucket, "k", "v");  // leaves a pooled keep-alive connection behind
  server.kill();
  const auto before = client.stats();
  const uint64_t start = now_ns();
  const auto e = expect_storage_error([&] { client.get_object(kBucket, "k"); });
  const double took = elapsed_s(start);
  EXPECT_EQ(e.kind(), StorageErrorKind::kUnreachable) << e.what();
  EXPECT_EQ(e.http_status(), 0);
  EXPECT_EQ(e.attempts(), 3);  // server.config(): max_attempts 3
  EXPECT_TRUE(contains(e.what(), server.endpoint())) << e.what();
  EXPECT_TRUE(contains(e.what(), "3 attempt")) << e.what();
  // Two backoffs of at most 50 and 100 ms; connection refused is immediate.
  EXPECT_LT(took, 2.0) << e.what();
  const auto after = client.stats();
  EXPECT_EQ(after.attempts - before.attempts, 3u);
  EXPECT_EQ(after.retries - before.retries, 2u);
  EXPECT_EQ(after.failed_requests - before.failed_requests, 1u);

  // The client recovers once the server is back.
  server.restart();
  EXPECT_EQ(client.get_object(kBucket, "k"), "v");
}

TEST_F(S3ClientTest, KillDuringTransfersEndsInAnErrorNotAHang) {
  const std::string data = random_bytes(4ull << 20, 3);
  client.put_object(kBucket, "loop", data);
  std::atomic<bool> failed{false};
  std::string message;
  uint64_t failed_at = 0;
  std::thread reader([&] {
    try {
      for (int i = 0; i < 100000; ++i) {
        if (client.get_object(kBucket, "loop").size() != data.size()) ADD_FAILURE() << "short read";
      }
    } catch (const StorageError& e) {
      message = e.what();
      failed_at = now_ns();
      failed = true;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const uint64_t killed_at = now_ns();
  server.kill();
  reader.join();
  ASSERT_TRUE(failed.load());
  // Retries (3 attempts) and backoffs are bounded well below the 5 s deadline.
  EXPECT_LT(static_cast<double>(failed_at - killed_at) / 1e9, 3.0) << message;
  EXPECT_TRUE(contains(message, "attempt")) << message;
}

TEST_F(S3ClientTest, HungServerTimesOutWithinTheDeadline) {
  S3Config cfg = server.config(kBucket);
  cfg.request_timeout = std::chrono::milliseconds(300);
  cfg.retry.max_attempts = 3;
  cfg.retry.deadline = std::chrono::milliseconds(3000);
  S3Client c(cfg);
  c.put_object(kBucket, "k", "v");
  server.suspend();
  const uint64_t start = now_ns();
  const auto e = expect_storage_error([&] { c.get_object(kBucket, "k"); });
  const double took = elapsed_s(start);
  server.resume();
  EXPECT_EQ(e.kind(), StorageErrorKind::kTimeout) << e.what();
  EXPECT_EQ(e.attempts(), 3);
  EXPECT_TRUE(contains(e.what(), "timed out")) << e.what();
  // 3 x 300 ms plus two backoffs (<= 150 ms): about 1 s; never the 3 s deadline.
  EXPECT_GE(took, 0.9);
  EXPECT_LT(took, 2.5);
  EXPECT_EQ(c.get_object(kBucket, "k"), "v");  // works again after SIGCONT
}

TEST_F(S3ClientTest, DeadlineCapsManyAttempts) {
  S3Config cfg = server.config(kBucket);
  cfg.retry.max_attempts = 100;
  cfg.retry.initial_backoff = std::chrono::milliseconds(20);
  cfg.retry.max_backoff = std::chrono::milliseconds(100);
  cfg.retry.deadline = std::chrono::milliseconds(1000);
  S3Client c(cfg);
  server.kill();
  const uint64_t start = now_ns();
  const auto e = expect_storage_error([&] { c.put_object(kBucket, "k", "v"); });
  const double took = elapsed_s(start);
  EXPECT_EQ(e.kind(), StorageErrorKind::kUnreachable);
  EXPECT_LT(e.attempts(), 100);
  EXPECT_GE(e.attempts(), 5);
  EXPECT_LT(took, 1.3) << e.what();
  EXPECT_TRUE(contains(e.what(), "deadline 1000 ms")) << e.what();
}
