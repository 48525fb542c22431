// api: the producers' HTTP API (the seed's "client"): routes each request to its handler
// and answers in the seed's envelope. Endpoints and error codes: README.md, "API".
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/fwd.hpp>
#include <string>

#include "config/config.h"
#include "http/message.h"
#include "redis/connection.h"
#include "storage/id_source.h"
#include "storage/save_batcher.h"
#include "storage/store.h"

namespace dmq::ingest {

class api {
 public:
  api(const config::settings& cfg, storage::store& store, storage::save_batcher& saver,
      storage::id_source& ids, redis::connection& conn);

  // handle answers one request; it never throws for bad input.
  boost::asio::awaitable<http::response> handle(http::request& req);

 private:
  boost::asio::awaitable<http::response> single(http::request& req);
  boost::asio::awaitable<http::response> batch(http::request& req);
  boost::asio::awaitable<http::response> status(http::request& req);
  boost::asio::awaitable<http::response> detail(http::request& req);
  boost::asio::awaitable<http::response> pending(http::request& req);
  boost::asio::awaitable<http::response> solved(http::request& req);
  boost::asio::awaitable<http::response> retry(http::request& req);
  boost::asio::awaitable<http::response> cancel(http::request& req);
  http::response healthz() const;

  const config::settings& cfg_;
  storage::store& store_;
  storage::save_batcher& saver_;
  storage::id_source& ids_;
  redis::connection& conn_;
};

}  // namespace dmq::ingest
