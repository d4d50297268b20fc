// Internal to daemon/decode: the tree of the dotted paths a decoder captures.
#ifndef NSMD_DAEMON_DECODE_JSON_PATH_TREE_INTERNAL_H_
#define NSMD_DAEMON_DECODE_JSON_PATH_TREE_INTERNAL_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace nsmd {
namespace decode_internal {

// The first 16 bytes of a key, zero-padded, as two words: keys up to 16
// bytes compare in full with two integer comparisons.
struct KeyPrefix {
  uint64_t words[2] = {0, 0};

  // Reads 16 bytes from key.data(), which every key affords: it lies in the
  // padded message buffer or the parser's padded string buffer.
  static KeyPrefix Of(absl::string_view key) {
    KeyPrefix p;
    std::memcpy(p.words, key.data(), sizeof(p.words));
    if (key.size() < 8) {
      p.words[0] &= (uint64_t{1} << (8 * key.size())) - 1;
      p.words[1] = 0;
    } else if (key.size() < 16) {
      p.words[1] &= (uint64_t{1} << (8 * (key.size() - 8))) - 1;
    }
    return p;
  }
  bool operator==(const KeyPrefix& o) const {
    return words[0] == o.words[0] && words[1] == o.words[1];
  }
  // Which of a node's kChildBuckets buckets holds a key with this prefix
  // and `size`: a multiplicative hash of the first word and the size.
  size_t Bucket(size_t size) const {
    return static_cast<size_t>(((words[0] ^ size) * 0x9E3779B97F4A7C15ull) >>
                               (64 - kChildBucketBits));
  }
  static constexpr int kChildBucketBits = 4;
  static constexpr size_t kChildBuckets = size_t{1} << kChildBucketBits;
};

// Every configured path (e.g. "properties.items.0.sku"), split at its dots
// into a tree: one node per distinct path prefix, children keyed by the next
// segment, and a "slot" on each node where a configured path ends (paths
// named twice share one). Node 0 is the message's root object.
//
// The lookup semantics are those of JSON pointers ("properties.items.0" as
// "/properties/items/0"): a segment matches an object member by its
// unescaped key, and only the first member with that key in a message (see
// KeyChild); against an array, a segment that is a decimal index without
// leading zeros ("0", "12"; not "01" or "x") selects that element.
//
// Built once (AddPath, then Seal), then read by one decoder thread.
class JsonPathTree {
 public:
  JsonPathTree();

  // Adds `dotted` and returns its slot, in [0, slot_count()). Only before
  // Seal().
  int AddPath(absl::string_view dotted);
  // Sorts every node's children into their key buckets; call once, after
  // the last AddPath.
  void Seal();

  // The number of distinct slots.
  int slot_count() const { return slot_count_; }
  // The slot of the configured path ending at `node`; -1 if none.
  int slot(int node) const { return nodes_[node].slot; }
  // True if paths continue below `node`.
  bool has_children(int node) const { return !nodes_[node].children.empty(); }

  // The child of `node` for object key `key`, or -1 if there is none or an
  // earlier member of the same object in the message numbered `generation`
  // already matched it (the first member with a key wins). `key.data()`
  // must afford 16 readable bytes (see KeyPrefix::Of).
  int KeyChild(int node, absl::string_view key, uint64_t generation);

  // The child of `node` for array element `index`; -1 if none.
  int IndexChild(int node, int64_t index) const;

 private:
  // A child of a PathNode, with its key's length and KeyPrefix at hand.
  struct PathChild {
    KeyPrefix prefix;
    size_t size = 0;
    int node = 0;
  };

  // One distinct path prefix.
  struct PathNode {
    std::string key;     // the segment leading here: an object member's key
    int64_t index = -1;  // the same segment as an array index; -1 if it is none
    int slot = -1;       // slot of the configured path ending here; -1 if none
    // Sorted by KeyPrefix::Bucket by Seal(): the children in bucket b are
    // children[bucket_start[b], bucket_start[b + 1]), so a key is compared
    // only with those of its bucket (Segment's root has ten children; a
    // bucket mostly holds one or none).
    std::vector<PathChild> children;
    std::vector<uint32_t> bucket_start;
    // The message generation in which this node was last matched.
    uint64_t matched = 0;
  };

  std::vector<PathNode> nodes_;
  int slot_count_ = 0;
};

}  // namespace decode_internal
}  // namespace nsmd

#endif  // NSMD_DAEMON_DECODE_JSON_PATH_TREE_INTERNAL_H_
