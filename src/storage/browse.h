// browse: the operators' reads of what dmq keeps (issue 14): a message with its statuses,
// queue times and attempt history; the find index; pages of a consumer's queue and failed
// list; dispatchers' reports; the events stream. Writes are in operate.h.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/record.h"
#include "storage/store.h"

namespace dmq::storage {

// consumer_view: one consumer's side of a message.
struct consumer_view {
  std::string consumer, status;
  int attempts = 0;
  std::optional<std::int64_t> next_attempt_ms;  // its queue score, if it is queued
  std::vector<std::string> history;             // its attempt history (JSON entries), oldest first
};

// message_view: a record and every consumer's side of it.
struct message_view {
  record rec;
  std::vector<consumer_view> consumers;
};

// page_query: which part of a sorted set of ids a page lists (page-1.lua).
struct page_query {
  std::int64_t min = 0, max = 0;  // scores
  std::string cursor;             // "" for the first page, else a page's next_cursor
  int limit = 100;
  std::string cmd, q;  // filters on the records ("" none)
};

struct page_entry {
  std::uint64_t id = 0;
  std::int64_t score = 0;
  std::string cmd, request_id;
};

struct page {
  std::int64_t count = 0;  // entries with scores in [min, max]
  std::vector<page_entry> list;
  std::string next_cursor;  // "" when the range is done
};

// event: one delivery outcome from the events stream (a dispatcher's XADD).
struct event {
  std::string id;  // the stream entry id
  std::vector<std::pair<std::string, std::string>> fields;
};

struct event_page {
  std::vector<event> events;
  std::string next_cursor;
};

// merge_pages makes one page of limit entries of the pages a sharded list's shards answered
// from one cursor: in (score, id) order, no further than the lowest next cursor among
// them (beyond it a shard has not looked yet); counts add up.
page merge_pages(std::vector<page> shards, int limit);

class browse {
 public:
  explicit browse(store& s) : store_(s), keys_(s.key_names()) {}

  // message returns a message's record, with per consumer its queue time and history;
  // nullopt if there is none.
  boost::asio::awaitable<result<std::optional<message_view>>> message(std::string_view project,
                                                                      std::uint64_t id);
  // find returns the ids of project's messages sent with request_id rid (the find index),
  // those whose records still live, oldest first.
  boost::asio::awaitable<result<std::vector<std::uint64_t>>> find(std::string_view project,
                                                                  std::string_view rid);
  // find_key returns the id first stored with idempotency key key within the window, or 0.
  boost::asio::awaitable<result<std::uint64_t>> find_key(std::string_view project,
                                                         std::string_view key);
  // scheduled and failed return a page of a consumer's queue (scores: due ms) or failed
  // list (scores: the messages' timestamps, s). A bad cursor is errc::invalid_argument.
  boost::asio::awaitable<result<page>> scheduled(std::string_view project,
                                                 std::string_view consumer, page_query q);
  boost::asio::awaitable<result<page>> failed(std::string_view project, std::string_view consumer,
                                              page_query q);
  // paused returns a project's paused consumers and since when (ms).
  boost::asio::awaitable<result<std::vector<std::pair<std::string, std::int64_t>>>> paused(
      std::string_view project);
  // oldest returns per consumer the score of the first entry of its queue (-1: empty).
  boost::asio::awaitable<result<std::vector<std::int64_t>>> oldest(
      std::span<const std::pair<std::string_view, std::string_view>> consumers);
  // reports returns the latest report (JSON text) of every dispatcher seen since since_ms.
  boost::asio::awaitable<result<std::vector<std::string>>> reports(std::int64_t since_ms);
  // events turns the events stream on for a while (keys::tail) and returns up to limit
  // events after cursor; cursor "" answers none and the cursor of the stream's end.
  boost::asio::awaitable<result<event_page>> events(std::string_view cursor, int limit);

 private:
  // read_page reads a page of list ("q": the queue, "pending": the failed list).
  boost::asio::awaitable<result<page>> read_page(std::string_view project,
                                                 std::string_view consumer, std::string_view list,
                                                 page_query q);
  store& store_;
  const keys& keys_;
};

// tail_ttl_ms: how long one read of the events keeps them written.
constexpr std::int64_t tail_ttl_ms = 15000;

}  // namespace dmq::storage
