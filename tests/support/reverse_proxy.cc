#include "support/reverse_proxy.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/ports.h"

namespace fs = std::filesystem;

namespace dmq::test {

namespace {

std::string nginx_config(const std::string& dir, int port, int upstream) {
  return "daemon off;\n"
         "master_process off;\n"
         "worker_processes 1;\n"
         "pid " +
         dir + "/nginx.pid;\n" + "error_log stderr notice;\n" +
         "events { worker_connections 64; }\n"
         "http {\n"
         "  access_log off;\n"
         "  client_body_temp_path " +
         dir + "/client_body;\n" + "  proxy_temp_path " + dir + "/proxy;\n" +
         "  fastcgi_temp_path " + dir + "/fastcgi;\n" + "  uwsgi_temp_path " + dir + "/uwsgi;\n" +
         "  scgi_temp_path " + dir + "/scgi;\n" +
         "  server {\n"
         "    listen 127.0.0.1:" +
         std::to_string(port) +
         ";\n"
         "    location / {\n"
         "      proxy_pass http://127.0.0.1:" +
         std::to_string(upstream) +
         ";\n"
         "      proxy_http_version 1.1;\n"
         "      proxy_set_header Connection \"\";\n"
         "      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
         "    }\n"
         "  }\n"
         "}\n";
}

std::string haproxy_config(int port, int upstream) {
  return "global\n"
         "  maxconn 256\n"
         "defaults\n"
         "  mode http\n"
         "  timeout connect 5s\n"
         "  timeout client 30s\n"
         "  timeout server 30s\n"
         "frontend api\n"
         "  bind 127.0.0.1:" +
         std::to_string(port) +
         "\n"
         "  option forwardfor\n"
         "  default_backend dmq\n"
         "backend dmq\n"
         "  server dmq1 127.0.0.1:" +
         std::to_string(upstream) + "\n";
}

// accepts says whether something accepts TCP connections on 127.0.0.1:port.
bool accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

std::string reverse_proxy::binary(kind k) {
  return k == kind::nginx ? "/usr/sbin/nginx" : "/usr/sbin/haproxy";
}

bool reverse_proxy::available(kind k) {
  return ::access(binary(k).c_str(), X_OK) == 0;
}

reverse_proxy::reverse_proxy(kind k, int upstream_port) : port_(free_port()) {
  static std::atomic<int> n{0};
  dir_ = (fs::temp_directory_path() / ((k == kind::nginx ? "dmq-nginx-" : "dmq-haproxy-") +
                                       std::to_string(::getpid()) + "-" + std::to_string(n++)))
             .string();
  fs::remove_all(dir_);
  fs::create_directories(dir_);
  auto conf = dir_ + (k == kind::nginx ? "/nginx.conf" : "/haproxy.cfg");
  config_ = k == kind::nginx ? nginx_config(dir_, port_, upstream_port)
                             : haproxy_config(port_, upstream_port);
  std::ofstream(conf) << config_;
  auto log_path = dir_ + "/output";
  auto bin = binary(k);

  pid_t parent = ::getpid();
  pid_ = ::fork();
  if (pid_ < 0)
    throw std::runtime_error(std::string("proxy: cannot fork: ") + std::strerror(errno));
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    if (k == kind::nginx)
      ::execl(bin.c_str(), bin.c_str(), "-p", dir_.c_str(), "-c", conf.c_str(), "-e", "stderr",
              nullptr);
    else
      ::execl(bin.c_str(), bin.c_str(), "-f", conf.c_str(), "-db", nullptr);
    ::_exit(127);
  }
  bool up =
      wait_until([&] { return running() && accepts(port_) && listening_pid_has(pid_, port_); },
                 std::chrono::seconds(10));
  if (!up) {
    auto out = log();
    stop();  // the destructor does not run after a throw
    throw std::runtime_error(bin + " did not start listening on 127.0.0.1:" +
                             std::to_string(port_) + "; its output:\n" + out);
  }
}

reverse_proxy::~reverse_proxy() {
  stop();
}

void reverse_proxy::stop() {
  if (pid_ > 0 && running()) {
    ::kill(pid_, SIGTERM);
    if (!wait_until([&] { return !running(); }, std::chrono::seconds(5))) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }
  pid_ = -1;
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    dir_.clear();
  }
}

bool reverse_proxy::running() {
  if (exited_ || pid_ <= 0) return false;
  if (::waitpid(pid_, nullptr, WNOHANG) == pid_) exited_ = true;
  return !exited_;
}

std::string reverse_proxy::log() const {
  std::ifstream in(dir_ + "/output");
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace dmq::test
