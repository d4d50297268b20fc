// `nsmd broker`: the embedded Kafka-protocol broker as a standalone process,
// for tests, benchmarks and trying nsmd with kcat.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "daemon/app/command_line.h"
#include "daemon/app/commands.h"
#include "daemon/source/embedded_broker.h"

namespace nsmd {

int BrokerCommand(const std::vector<std::string>& args) {
  auto flags = CommandLine::Parse(args, {"topic", "partitions", "brokers"});
  if (!flags.ok()) {
    std::fprintf(stderr, "nsmd broker: %s\n", std::string(flags.status().message()).c_str());
    return 2;
  }
  int partitions = 8, brokers = 1;
  if (auto p = flags->Get("partitions");
      p && (!absl::SimpleAtoi(*p, &partitions) || partitions < 1)) {
    std::fprintf(stderr, "nsmd broker: --partitions must be a positive integer\n");
    return 2;
  }
  if (auto b = flags->Get("brokers"); b && (!absl::SimpleAtoi(*b, &brokers) || brokers < 1)) {
    std::fprintf(stderr, "nsmd broker: --brokers must be a positive integer\n");
    return 2;
  }
  const std::vector<std::string> topics =
      absl::StrSplit(flags->Get("topic").value_or("product-events"), ',', absl::SkipEmpty());

  // Signals are taken synchronously below; block them before any librdkafka
  // thread starts so none of those threads receives them.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGUSR1, SIGUSR2}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto broker = EmbeddedBroker::Start(brokers);
  if (!broker.ok()) {
    std::fprintf(stderr, "nsmd broker: %s\n", broker.status().ToString().c_str());
    return 1;
  }
  for (const std::string& entry : topics) {
    // NAME or NAME:PARTITIONS (e.g. a changelog topic sized like its input).
    std::string topic = entry;
    int count = partitions;
    if (const size_t colon = entry.rfind(':'); colon != std::string::npos) {
      topic = entry.substr(0, colon);
      if (!absl::SimpleAtoi(entry.substr(colon + 1), &count) || count < 1) {
        std::fprintf(stderr, "nsmd broker: --topic %s: the partition count must be positive\n",
                     entry.c_str());
        return 2;
      }
    }
    if (absl::Status s = (*broker)->CreateTopic(topic, count); !s.ok()) {
      std::fprintf(stderr, "nsmd broker: %s\n", s.ToString().c_str());
      return 1;
    }
  }
  const std::string bootstrap = (*broker)->bootstrap_servers();
  std::printf("%s\n", bootstrap.c_str());
  std::fflush(stdout);
  std::fprintf(stderr,
               "nsmd broker: listening on %s with %zu topic(s) of %d partition(s) by default; "
               "SIGTERM stops, "
               "SIGUSR1 takes the broker down, SIGUSR2 brings it back\n",
               bootstrap.c_str(), topics.size(), partitions);
  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGUSR1 || sig == SIGUSR2) {
      absl::Status s = (*broker)->SetDown(sig == SIGUSR1);
      std::fprintf(stderr, "nsmd broker: %s\n",
                   s.ok() ? (sig == SIGUSR1 ? "down (outage rehearsal)" : "up again")
                          : s.ToString().c_str());
      continue;
    }
    break;
  }
  std::fprintf(stderr, "nsmd broker: stopping\n");
  return 0;
}

}  // namespace nsmd
