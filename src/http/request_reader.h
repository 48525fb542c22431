// request_reader: how the server reads one request out of the bytes of a connection, with
// Beast's parser, kept apart from the socket so that the fuzz target (fuzz/http_request.cc)
// drives the very code the server runs: the parser's limits, which failures are answered
// and with which status, and the conversion into the Beast-free http::request. Only
// server.cc and the fuzz target include it (Beast is heavy).
#pragma once

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/message.h"

namespace dmq::http {

// header_limit bounds a request's line and headers together (431 past it).
constexpr std::size_t header_limit = std::size_t{16} * 1024;

// refusal: how to answer a request the server cannot serve as sent.
struct refusal {
  int status = 0;   // 400, 413, 431 or 505; 0: nothing to answer
  std::string why;  // what was wrong, in ASCII, for the answer's message
};

// request_reader reads one request: feed() it the bytes of the connection until it has the
// head, check refusal_for_head(), then (unless done()) feed it until the request is whole.
//
// It bounds what Beast's parser does not: Beast applies its header limit to the bytes of
// one parse call, and consumes header lines as they come, so a head sent over many reads
// could grow without end; and it keeps a chunked body's trailer lines, whose size no limit
// bounds. Here the head is at most max_head_bytes in all, and a body at most twice
// max_body_bytes plus max_head_bytes on the wire (chunk sizes, extensions, trailers).
class request_reader {
 public:
  using parser_type = boost::beast::http::request_parser<boost::beast::http::string_body>;

  // max_head_bytes is header_limit for the server (a fuzz target lowers it to reach it).
  explicit request_reader(std::size_t max_body_bytes, std::size_t max_head_bytes = header_limit);

  // feed parses what it can of buf, and consumes it. Returns need_more until the head is
  // parsed (then success), and after that until the request is whole (then success); any
  // other error ends the request: refusal_for() says how to answer it.
  boost::system::error_code feed(boost::beast::flat_buffer& buf);
  // head_done says whether the line and headers are parsed; done whether all of it is.
  bool head_done() const { return p_.is_header_done(); }
  bool done() const { return p_.is_done(); }
  // version returns the request's HTTP version (11 for 1.1); once head_done().
  unsigned version() const { return p_.get().version(); }
  // expects_continue says whether the client waits for "100 Continue" to send its body.
  bool expects_continue() const;
  // keep_alive says whether the client asked to keep the connection open after this one.
  bool keep_alive() const { return p_.get().keep_alive(); }

  // refusal_for returns the answer to a read that failed with ec (returned by feed(), or by
  // the socket): 413 past the body limit, 431 past the head limit, 505 for an HTTP
  // version other than 1.x (an HTTP/2 preface is one), 400 for any other syntax error
  // (request line, header, Content-Length, chunked encoding). Status 0 when the peer
  // closed, reset or went quiet: as nginx does, nothing is answered (nobody would read it).
  refusal refusal_for(const boost::system::error_code& ec) const;
  // refusal_for_head returns the answer to a request whose head parsed but that cannot be
  // served: 400 for a Transfer-Encoding whose last coding is not chunked (RFC 9112 6.3: its
  // length cannot be known). Status 0 when it may be served.
  refusal refusal_for_head() const;

  // release moves the request out, in the form handlers take (peer not set); once done().
  request release();

 private:
  parser_type p_;
  std::size_t max_head_bytes_;
  std::size_t max_wire_bytes_;  // head and body together, as sent
  std::size_t used_ = 0;        // bytes consumed so far
  std::string other_version_;   // "x.y" of a well-formed "HTTP/x.y" other than 1.x
};

// malformed_answer returns the server's default answer to a refusal (400, 431, 505): the
// API's envelope {"code":128,"message":why,"data":null}. The code is ingest's
// errc::bad_request, written here because this layer cannot include ingest; a server's
// options may replace the answer (server_options::malformed).
response malformed_answer(int status, std::string_view why);

}  // namespace dmq::http
