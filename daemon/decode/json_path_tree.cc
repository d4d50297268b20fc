#include <algorithm>
#include <utility>

#include "absl/strings/str_split.h"
#include "daemon/decode/json_path_tree_internal.h"

namespace nsmd {
namespace decode_internal {
namespace {

// The array index a path segment stands for, as a JSON pointer resolves it
// against an array: decimal digits, no leading zero (except "0" itself);
// -1 for any other segment (it can only name an object member). Segments of
// more than 9 digits never match: no message holds that many elements.
int64_t ArrayIndex(absl::string_view segment) {
  if (segment.empty() || segment.size() > 9) return -1;
  if (segment.size() > 1 && segment[0] == '0') return -1;
  int64_t index = 0;
  for (char c : segment) {
    if (c < '0' || c > '9') return -1;
    index = index * 10 + (c - '0');
  }
  return index;
}

}  // namespace

JsonPathTree::JsonPathTree() { nodes_.emplace_back(); }

int JsonPathTree::AddPath(absl::string_view dotted) {
  int node = 0;
  for (absl::string_view segment : absl::StrSplit(dotted, '.')) {
    int next = -1;
    for (const PathChild& child : nodes_[node].children) {
      if (nodes_[child.node].key == segment) next = child.node;
    }
    if (next < 0) {
      next = static_cast<int>(nodes_.size());
      PathNode added;
      added.key = std::string(segment);
      added.index = ArrayIndex(segment);
      nodes_.push_back(std::move(added));
      PathChild child;
      // KeyPrefix::Of() reads 16 bytes: take them from a zero-padded copy.
      char padded[sizeof(KeyPrefix)] = {};
      const size_t head = std::min(segment.size(), sizeof(padded));
      std::memcpy(padded, segment.data(), head);
      child.prefix = KeyPrefix::Of(absl::string_view(padded, head));
      child.size = segment.size();
      child.node = next;
      nodes_[node].children.push_back(child);
    }
    node = next;
  }
  if (nodes_[node].slot < 0) nodes_[node].slot = slot_count_++;
  return nodes_[node].slot;
}

void JsonPathTree::Seal() {
  for (PathNode& node : nodes_) {
    auto bucket = [](const PathChild& child) { return child.prefix.Bucket(child.size); };
    std::stable_sort(node.children.begin(), node.children.end(),
                     [&](const PathChild& a, const PathChild& b) { return bucket(a) < bucket(b); });
    node.bucket_start.assign(KeyPrefix::kChildBuckets + 1, 0);
    for (const PathChild& child : node.children) ++node.bucket_start[bucket(child) + 1];
    for (size_t b = 0; b < KeyPrefix::kChildBuckets; ++b) {
      node.bucket_start[b + 1] += node.bucket_start[b];
    }
  }
}

int JsonPathTree::KeyChild(int node, absl::string_view key, uint64_t generation) {
  const KeyPrefix prefix = KeyPrefix::Of(key);
  const PathNode& parent = nodes_[node];
  const size_t bucket = prefix.Bucket(key.size());
  for (uint32_t i = parent.bucket_start[bucket]; i < parent.bucket_start[bucket + 1]; ++i) {
    const PathChild& child = parent.children[i];
    if (child.size != key.size() || !(child.prefix == prefix)) continue;
    PathNode& n = nodes_[child.node];
    if (key.size() > sizeof(prefix) &&
        std::memcmp(n.key.data() + sizeof(prefix), key.data() + sizeof(prefix),
                    key.size() - sizeof(prefix)) != 0) {
      continue;
    }
    if (n.matched == generation) return -1;  // a duplicate key: the first one won
    n.matched = generation;
    return child.node;
  }
  return -1;
}

int JsonPathTree::IndexChild(int node, int64_t index) const {
  for (const PathChild& child : nodes_[node].children) {
    if (nodes_[child.node].index == index) return child.node;
  }
  return -1;
}

}  // namespace decode_internal
}  // namespace nsmd
