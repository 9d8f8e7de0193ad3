// Test support for anything that needs a real database: temp dirs, child
// processes, and private redis-server / PostgreSQL / MariaDB instances on free
// loopback ports. Header-only; used by the store tests and reusable by directory/sso tests.
//
//   store_test::TempDir dir;
//   std::string why;
//   auto url = store_test::FreshDatabaseUrl("postgres", dir, &why);
//   // or "sqlite", "mariadb", "odbc-mariadb" (MariaDB through Debian's ODBC driver)
//   if (url.empty()) GTEST_SKIP() << why;
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tongban::store_test {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern =
        std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/tongban-test-XXXXXX";
    std::vector<char> buf(pattern.begin(), pattern.end());
    buf.push_back('\0');
    if (mkdtemp(buf.data()) == nullptr) std::abort();
    path_ = buf.data();
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

// A port that was free a moment ago (the kernel picks it; we release it).
// Callers that start a server on it retry with a new port if binding fails.
inline int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

// A child process, stopped (signal, then reaped) when this object dies. The
// child also dies with us (PR_SET_PDEATHSIG) so a crashed test leaks nothing.
class ChildProcess {
 public:
  struct Options {
    std::string log_file;      // stdout+stderr appended here; empty = /dev/null
    std::optional<uid_t> uid;  // run as this user (needs root)
    std::optional<gid_t> gid;
    int stop_signal = SIGTERM;
  };

  static std::unique_ptr<ChildProcess> Start(const std::vector<std::string>& argv,
                                             const Options& options, std::string* error) {
    std::vector<char*> args;
    for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const char* log = options.log_file.empty() ? "/dev/null" : options.log_file.c_str();
    int log_fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
      *error = "cannot open " + std::string(log);
      return nullptr;
    }
    if (options.uid.has_value()) (void)fchown(log_fd, *options.uid, options.gid.value_or(-1));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
      close(log_fd);
      *error = "fork failed";
      return nullptr;
    }
    if (pid == 0) {
      // Only async-signal-safe calls between fork and exec.
      dup2(log_fd, STDOUT_FILENO);
      dup2(log_fd, STDERR_FILENO);
      int devnull = open("/dev/null", O_RDONLY);
      if (devnull >= 0) dup2(devnull, STDIN_FILENO);
      if (options.gid.has_value()) {
        if (setgroups(0, nullptr) != 0 || setgid(*options.gid) != 0) _exit(126);
      }
      if (options.uid.has_value() && setuid(*options.uid) != 0) _exit(126);
      // Set after setuid, which clears it.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(125);
      execv(args[0], args.data());
      _exit(127);
    }
    close(log_fd);
    return std::make_unique<ChildProcess>(pid, options.stop_signal);
  }

  // Adopts `pid`, a child of this process.
  ChildProcess(pid_t pid, int stop_signal) : pid_(pid), stop_signal_(stop_signal) {}
  ~ChildProcess() { Stop(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }

  // True while the child has not exited.
  bool Running() {
    if (exited_) return false;
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exited_ = true;
      exit_status_ = status;
    }
    return !exited_;
  }

  // Waits for the child to exit by itself; returns its exit code (-1 if killed).
  int Wait() {
    if (!exited_) {
      int status = 0;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      exited_ = true;
      exit_status_ = status;
    }
    return WIFEXITED(exit_status_) ? WEXITSTATUS(exit_status_) : -1;
  }

  // Sends the stop signal and reaps the child.
  void Stop() {
    if (!Running()) return;
    kill(pid_, stop_signal_);
    Wait();
  }

 private:
  pid_t pid_;
  int stop_signal_;
  bool exited_ = false;
  int exit_status_ = 0;
};

// Polls `ready` until it returns true, the child dies, or the deadline passes.
// This is readiness polling with a bounded deadline, not a sleep standing in
// for synchronisation: we proceed the moment the server answers.
template <typename F>
bool WaitUntilReady(ChildProcess& child, std::chrono::seconds deadline, F&& ready) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (ready()) return true;
    if (!child.Running()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

inline std::string ReadFileTail(const std::string& path, size_t max = 2000) {
  FILE* f = fopen(path.c_str(), "rb");
  if (f == nullptr) return "";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  fclose(f);
  return out.size() > max ? out.substr(out.size() - max) : out;
}

// A private redis-server (no persistence) on a free loopback port.
class PrivateRedis {
 public:
  static constexpr const char* kBinary = "/usr/bin/redis-server";

  // `extra_args`: more command-line options, e.g. {"--rename-command", "GETDEL", ""}.
  // Returns nullptr and sets *why when the server cannot be started.
  static std::unique_ptr<PrivateRedis> Start(std::string* why,
                                             std::vector<std::string> extra_args = {}) {
    if (access(kBinary, X_OK) != 0) {
      *why = std::string(kBinary) + " is not installed";
      return nullptr;
    }
    auto redis = std::make_unique<PrivateRedis>();
    for (int attempt = 0; attempt < 3; ++attempt) {
      int port = FreeLoopbackPort();
      std::vector<std::string> argv = {kBinary,  "--port",          std::to_string(port),
                                       "--bind", "127.0.0.1",       "--save",
                                       "",       "--appendonly",    "no",
                                       "--dir",  redis->dir_.path()};
      argv.insert(argv.end(), extra_args.begin(), extra_args.end());
      ChildProcess::Options options;
      options.log_file = redis->dir_.File("redis.log");
      redis->child_ = ChildProcess::Start(argv, options, why);
      if (redis->child_ == nullptr) return nullptr;
      redis->port_ = port;
      redis->argv_ = argv;
      if (WaitUntilReady(*redis->child_, std::chrono::seconds(10), [&] { return Ping(port); })) {
        return redis;
      }
      redis->child_->Stop();
    }
    *why = "redis-server did not become ready: " + ReadFileTail(redis->dir_.File("redis.log"));
    return nullptr;
  }

  PrivateRedis() = default;  // not started: use Start()
  int port() const { return port_; }
  ChildProcess& process() { return *child_; }
  void Stop() { child_->Stop(); }
  // Stops the server and starts it again on the same port, empty (no
  // persistence): every connection is dropped and the script cache is gone.
  bool Restart(std::string* why) {
    child_->Stop();
    ChildProcess::Options options;
    options.log_file = dir_.File("redis.log");
    child_ = ChildProcess::Start(argv_, options, why);
    if (child_ == nullptr) return false;
    if (WaitUntilReady(*child_, std::chrono::seconds(10), [&] { return Ping(port_); })) return true;
    *why = "redis-server did not restart: " + ReadFileTail(dir_.File("redis.log"));
    return false;
  }

  static bool Ping(int port) {
    timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
    bool ok = false;
    if (c != nullptr && c->err == 0) {
      // Any reply will do: with --requirepass the answer is a NOAUTH error.
      auto* reply = static_cast<redisReply*>(redisCommand(c, "PING"));
      ok = reply != nullptr;
      if (reply != nullptr) freeReplyObject(reply);
    }
    if (c != nullptr) redisFree(c);
    return ok;
  }

 private:
  TempDir dir_;
  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
  std::vector<std::string> argv_;
};

// A private PostgreSQL 15 cluster (initdb in a temp dir, trust auth, user
// "tongban", fsync off) on a free loopback port. As root, the server runs as
// the "postgres" system user, since PostgreSQL refuses to run as root.
class PrivatePostgres {
 public:
  static constexpr const char* kBinDir = "/usr/lib/postgresql/15/bin";

  static std::unique_ptr<PrivatePostgres> Start(std::string* why) {
    std::string initdb = std::string(kBinDir) + "/initdb";
    std::string postgres = std::string(kBinDir) + "/postgres";
    if (access(initdb.c_str(), X_OK) != 0 || access(postgres.c_str(), X_OK) != 0) {
      *why = "PostgreSQL 15 server binaries are not installed in " + std::string(kBinDir);
      return nullptr;
    }
    auto pg = std::make_unique<PrivatePostgres>();
    ChildProcess::Options options;
    options.log_file = pg->dir_.File("postgres.log");
    options.stop_signal = SIGINT;  // "fast" shutdown
    std::string data = pg->dir_.File("data");
    if (geteuid() == 0) {
      passwd* user = getpwnam("postgres");
      if (user == nullptr) {
        *why = "running as root and there is no 'postgres' user to run the server as";
        return nullptr;
      }
      options.uid = user->pw_uid;
      options.gid = user->pw_gid;
      if (chmod(pg->dir_.path().c_str(), 0755) != 0) {
        *why = "cannot open " + pg->dir_.path() + " to the postgres user";
        return nullptr;
      }
    }
    std::string cluster_template = PrepareTemplate(initdb, options, why);
    if (cluster_template.empty()) return nullptr;
    {
      // cp -a keeps the postgres ownership and the 0700 mode PostgreSQL insists on.
      auto copy = ChildProcess::Start({"/bin/cp", "-a", cluster_template, data}, {}, why);
      if (copy == nullptr) return nullptr;
      if (copy->Wait() != 0) {
        *why = "cannot copy the template cluster " + cluster_template;
        return nullptr;
      }
    }
    for (int attempt = 0; attempt < 3; ++attempt) {
      int port = FreeLoopbackPort();
      pg->server_ = ChildProcess::Start(
          {postgres, "-D", data, "-p", std::to_string(port), "-k", data, "-c",
           "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c",
           "full_page_writes=off", "-c", "max_connections=60"},
          options, why);
      if (pg->server_ == nullptr) return nullptr;
      pg->port_ = port;
      std::string probe = pg->Conninfo("postgres") + " connect_timeout=2";
      if (WaitUntilReady(*pg->server_, std::chrono::seconds(30),
                         [&] { return PQping(probe.c_str()) == PQPING_OK; })) {
        return pg;
      }
      pg->server_->Stop();
    }
    *why = "postgres did not become ready: " + ReadFileTail(options.log_file);
    return nullptr;
  }

  // initdb takes seconds and ctest runs every test in its own process, so one
  // initdb'd cluster per user is kept in $TMPDIR and each server gets a copy.
  // Built under an flock and published by rename, so concurrent test
  // processes neither race nor see a half-built template. Returns its path.
  static std::string PrepareTemplate(const std::string& initdb, ChildProcess::Options options,
                                     std::string* why) {
    const char* base_env = std::getenv("TMPDIR");
    std::string base = base_env != nullptr && *base_env != '\0' ? base_env : "/tmp";
    std::string path = base + "/tongban-pg15-template-" + std::to_string(geteuid());
    int lock_fd = open((path + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) {
      *why = "cannot lock " + path + ".lock";
      if (lock_fd >= 0) close(lock_fd);
      return "";
    }
    std::error_code ec;
    if (!std::filesystem::exists(path + "/global/pg_control", ec)) {
      std::string work = path + ".building";
      std::filesystem::remove_all(work, ec);
      std::filesystem::remove_all(path, ec);
      bool ok = mkdir(work.c_str(), 0700) == 0;
      if (ok && options.uid.has_value()) {
        ok = chown(work.c_str(), *options.uid, options.gid.value_or(-1)) == 0;
      }
      options.log_file = path + ".log";
      std::unique_ptr<ChildProcess> init;
      if (ok) {
        // 1 MB WAL segments instead of 16 MB: less to copy for every server.
        init =
            ChildProcess::Start({initdb, "-D", work, "-U", "tongban", "-A", "trust", "-E", "UTF8",
                                 "--locale=C", "--no-sync", "--no-instructions", "--wal-segsize=1"},
                                options, why);
      }
      if (init == nullptr || init->Wait() != 0 || rename(work.c_str(), path.c_str()) != 0) {
        if (why->empty()) *why = "initdb failed: " + ReadFileTail(options.log_file);
        std::filesystem::remove_all(work, ec);
        close(lock_fd);
        return "";
      }
    }
    close(lock_fd);
    return path;
  }

  PrivatePostgres() = default;  // not started: use Start()
  int port() const { return port_; }

  std::string Conninfo(std::string_view db) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) +
           " user=tongban dbname=" + std::string(db);
  }
  std::string Url(std::string_view db) const {
    return "postgresql://tongban@127.0.0.1:" + std::to_string(port_) + "/" + std::string(db);
  }

  // Runs one SQL command against database `db`; returns an error text or "".
  std::string Execute(std::string_view db, const std::string& sql) const {
    PGconn* conn = PQconnectdb(Conninfo(db).c_str());
    std::string error;
    if (PQstatus(conn) != CONNECTION_OK) {
      error = PQerrorMessage(conn);
    } else {
      PGresult* res = PQexec(conn, sql.c_str());
      ExecStatusType st = PQresultStatus(res);
      if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) error = PQresultErrorMessage(res);
      PQclear(res);
    }
    PQfinish(conn);
    return error;
  }

  // Creates an empty database with a name unique to this server; returns its url.
  std::string NewDatabaseUrl(std::string* why) {
    std::string name = "t" + std::to_string(next_db_.fetch_add(1));
    std::string error = Execute("postgres", "CREATE DATABASE " + name);
    if (!error.empty()) {
      *why = "CREATE DATABASE failed: " + error;
      return "";
    }
    return Url(name);
  }

  void Stop() { server_->Stop(); }

 private:
  TempDir dir_;
  std::unique_ptr<ChildProcess> server_;
  int port_ = 0;
  std::atomic<int> next_db_{1};
};

// One PostgreSQL server per test process, started on first use (initdb takes
// a second or two) and stopped at exit. nullptr + *why when unavailable.
inline PrivatePostgres* SharedPostgres(std::string* why) {
  static std::string failure;
  static std::unique_ptr<PrivatePostgres> server = PrivatePostgres::Start(&failure);
  if (server == nullptr) *why = failure;
  return server.get();
}

// A private MariaDB server (mariadb-install-db in a temp dir, grant tables
// skipped so any user may connect, durability relaxed for speed) on a free
// loopback port. As root it runs with --user=root.
class PrivateMariadb {
 public:
  static constexpr const char* kInstallDb = "/usr/bin/mariadb-install-db";
  static constexpr const char* kServer = "/usr/sbin/mariadbd";

  static std::unique_ptr<PrivateMariadb> Start(std::string* why) {
    if (access(kInstallDb, X_OK) != 0 || access(kServer, X_OK) != 0) {
      *why = "MariaDB is not installed (" + std::string(kServer) +
             "); scripts/install-deps.sh installs mariadb-server";
      return nullptr;
    }
    auto db = std::make_unique<PrivateMariadb>();
    std::string data = db->dir_.File("data");
    std::string datadir_template = PrepareTemplate(why);
    if (datadir_template.empty()) return nullptr;
    {
      auto copy = ChildProcess::Start({"/bin/cp", "-a", datadir_template, data}, {}, why);
      if (copy == nullptr) return nullptr;
      if (copy->Wait() != 0) {
        *why = "cannot copy the template datadir " + datadir_template;
        return nullptr;
      }
    }
    ChildProcess::Options options;
    options.log_file = db->dir_.File("mariadb.log");
    for (int attempt = 0; attempt < 3; ++attempt) {
      int port = FreeLoopbackPort();
      std::vector<std::string> argv = ServerArgs(data);
      argv.insert(argv.end(), {"--port=" + std::to_string(port), "--bind-address=127.0.0.1",
                               "--socket=" + db->dir_.File("mariadb.sock"),
                               "--pid-file=" + db->dir_.File("mariadb.pid")});
      db->server_ = ChildProcess::Start(argv, options, why);
      if (db->server_ == nullptr) return nullptr;
      db->port_ = port;
      if (WaitUntilReady(*db->server_, std::chrono::seconds(60),
                         [&] { return db->Execute("", "SELECT 1").empty(); })) {
        return db;
      }
      db->server_->Stop();
    }
    *why = "mariadbd did not become ready: " + ReadFileTail(options.log_file);
    return nullptr;
  }

  static std::vector<std::string> ServerArgs(const std::string& data) {
    std::vector<std::string> argv = {kServer,
                                     "--no-defaults",
                                     "--datadir=" + data,
                                     "--skip-grant-tables",
                                     "--skip-name-resolve",
                                     "--innodb-buffer-pool-size=32M",
                                     "--innodb-log-file-size=8M",
                                     "--innodb-flush-log-at-trx-commit=2",
                                     "--innodb-doublewrite=0",
                                     "--loose-innodb-use-native-aio=0",
                                     "--max-connections=200",
                                     "--character-set-server=utf8mb4",
                                     "--collation-server=utf8mb4_bin"};
    // Its own directory for temporary tables: with several servers (ctest -j)
    // sharing /tmp, one's on-disk temporary tables failed to be deleted
    // ("Error on delete ... No such file or directory", MySQL error 6).
    std::filesystem::path tmp = std::filesystem::path(data).parent_path() / "tmp";
    std::filesystem::create_directories(tmp);
    argv.push_back("--tmpdir=" + tmp.string());
    if (geteuid() == 0) argv.push_back("--user=root");
    return argv;
  }

  // mariadb-install-db takes seconds and ctest runs every test in its own
  // process, so one datadir per user is kept in $TMPDIR and each server gets a
  // copy (built under an flock, published by rename, as for PostgreSQL).
  static std::string PrepareTemplate(std::string* why) {
    const char* base_env = std::getenv("TMPDIR");
    std::string base = base_env != nullptr && *base_env != '\0' ? base_env : "/tmp";
    std::string path = base + "/tongban-mariadb-template-" + std::to_string(geteuid());
    int lock_fd = open((path + ".lock").c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0) {
      *why = "cannot lock " + path + ".lock";
      if (lock_fd >= 0) close(lock_fd);
      return "";
    }
    std::error_code ec;
    if (!std::filesystem::exists(path + "/mysql", ec)) {
      std::string work = path + ".building";
      std::filesystem::remove_all(work, ec);
      std::filesystem::remove_all(path, ec);
      ChildProcess::Options options;
      options.log_file = path + ".log";
      std::vector<std::string> argv = {kInstallDb,
                                       "--no-defaults",
                                       "--datadir=" + work,
                                       "--skip-test-db",
                                       "--auth-root-authentication-method=normal",
                                       "--innodb-log-file-size=8M"};
      if (geteuid() == 0) argv.push_back("--user=root");
      auto init = ChildProcess::Start(argv, options, why);
      if (init == nullptr || init->Wait() != 0 || rename(work.c_str(), path.c_str()) != 0) {
        if (why->empty()) *why = "mariadb-install-db failed: " + ReadFileTail(options.log_file);
        std::filesystem::remove_all(work, ec);
        close(lock_fd);
        return "";
      }
    }
    close(lock_fd);
    return path;
  }

  PrivateMariadb() = default;  // not started: use Start()
  int port() const { return port_; }

  std::string Url(std::string_view db) const {
    return "mysql://root@127.0.0.1:" + std::to_string(port_) + "/" + std::string(db);
  }
  // The same database through Debian's MariaDB ODBC driver (odbc-mariadb).
  std::string OdbcUrl(std::string_view db) const {
    return "odbc://DRIVER={MariaDB Unicode};SERVER=127.0.0.1;PORT=" + std::to_string(port_) +
           ";DATABASE=" + std::string(db) + ";UID=root;dialect=mysql";
  }

  // Runs one SQL command against database `db` ("" = none); returns an error text or "".
  std::string Execute(std::string_view db, const std::string& sql) const {
    MYSQL* conn = mysql_init(nullptr);
    if (conn == nullptr) return "mysql_init failed";
    unsigned int timeout = 2;
    mysql_options(conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    std::string database(db);
    std::string error;
    if (mysql_real_connect(conn, "127.0.0.1", "root", nullptr,
                           database.empty() ? nullptr : database.c_str(),
                           static_cast<unsigned int>(port_), nullptr, 0) == nullptr) {
      error = mysql_error(conn);
    } else if (mysql_real_query(conn, sql.c_str(), static_cast<unsigned long>(sql.size())) != 0) {
      error = mysql_error(conn);
    } else {
      MYSQL_RES* res = mysql_store_result(conn);
      if (res != nullptr) mysql_free_result(res);
    }
    mysql_close(conn);
    return error;
  }

  // Creates an empty utf8mb4 database with a name unique to this server.
  std::string NewDatabase(std::string* why) {
    std::string name = "t" + std::to_string(next_db_.fetch_add(1));
    std::string error =
        Execute("", "CREATE DATABASE " + name + " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
    if (!error.empty()) {
      *why = "CREATE DATABASE failed: " + error;
      return "";
    }
    return name;
  }

  void Stop() { server_->Stop(); }
  // Starts the server again on the same port and datadir (after Stop()).
  bool Restart(std::string* why) {
    ChildProcess::Options options;
    options.log_file = dir_.File("mariadb.log");
    std::vector<std::string> argv = ServerArgs(dir_.File("data"));
    argv.insert(argv.end(), {"--port=" + std::to_string(port_), "--bind-address=127.0.0.1",
                             "--socket=" + dir_.File("mariadb.sock"),
                             "--pid-file=" + dir_.File("mariadb.pid")});
    server_ = ChildProcess::Start(argv, options, why);
    if (server_ == nullptr) return false;
    if (WaitUntilReady(*server_, std::chrono::seconds(60),
                       [&] { return Execute("", "SELECT 1").empty(); })) {
      return true;
    }
    *why = "mariadbd did not restart: " + ReadFileTail(options.log_file);
    return false;
  }

 private:
  TempDir dir_;
  std::unique_ptr<ChildProcess> server_;
  int port_ = 0;
  std::atomic<int> next_db_{1};
};

// One MariaDB server per test process, started on first use.
inline PrivateMariadb* SharedMariadb(std::string* why) {
  static std::string failure;
  static std::unique_ptr<PrivateMariadb> server = PrivateMariadb::Start(&failure);
  if (server == nullptr) *why = failure;
  return server.get();
}

// A url for an empty database of `backend` ("sqlite": a file in `dir`;
// "postgres" / "mariadb": a new database on the shared private server;
// "odbc-mariadb": the same through the MariaDB ODBC driver), or "" and *why.
inline std::string FreshDatabaseUrl(std::string_view backend, const TempDir& dir,
                                    std::string* why) {
  if (backend == "sqlite") return "sqlite://" + dir.File("store.db");
  if (backend == "postgres") {
    PrivatePostgres* pg = SharedPostgres(why);
    return pg == nullptr ? "" : pg->NewDatabaseUrl(why);
  }
  if (backend == "mariadb" || backend == "odbc-mariadb") {
    PrivateMariadb* db = SharedMariadb(why);
    if (db == nullptr) return "";
    std::string name = db->NewDatabase(why);
    if (name.empty()) return "";
    return backend == "mariadb" ? db->Url(name) : db->OdbcUrl(name);
  }
  *why = "unknown backend " + std::string(backend);
  return "";
}

}  // namespace tongban::store_test
