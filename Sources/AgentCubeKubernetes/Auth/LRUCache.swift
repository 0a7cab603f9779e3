/// A bounded map that forgets its least recently used entry when full: O(1) lookups, inserts and
/// removals (a dictionary of slots in a doubly linked list kept in an array).
package struct LRUCache<Key: Hashable, Value> {
  private struct Node {
    var key: Key
    var value: Value
    var previous: Int
    var next: Int
  }

  let capacity: Int
  private var nodes: [Node] = []
  private var slots: [Key: Int] = [:]
  private var freeSlots: [Int] = []
  /// Most and least recently used slots; -1 when empty.
  private var head = -1
  private var tail = -1

  package init(capacity: Int) {
    precondition(capacity >= 1, "an LRU cache holds at least one entry")
    self.capacity = capacity
  }

  package var count: Int { slots.count }

  /// The value for `key`, which becomes the most recently used.
  package mutating func value(forKey key: Key) -> Value? {
    guard let slot = slots[key] else { return nil }
    moveToFront(slot)
    return nodes[slot].value
  }

  /// Stores `value` as the most recently used; returns whether an older entry was evicted for it.
  @discardableResult
  package mutating func set(_ value: Value, forKey key: Key) -> Bool {
    if let slot = slots[key] {
      nodes[slot].value = value
      moveToFront(slot)
      return false
    }
    var evicted = false
    if slots.count == capacity {
      removeValue(forKey: nodes[tail].key)
      evicted = true
    }
    let node = Node(key: key, value: value, previous: -1, next: head)
    let slot: Int
    if let free = freeSlots.popLast() {
      nodes[free] = node
      slot = free
    } else {
      nodes.append(node)
      slot = nodes.count - 1
    }
    if head >= 0 { nodes[head].previous = slot }
    head = slot
    if tail < 0 { tail = slot }
    slots[key] = slot
    return evicted
  }

  package mutating func removeValue(forKey key: Key) {
    guard let slot = slots.removeValue(forKey: key) else { return }
    unlink(slot)
    freeSlots.append(slot)
  }

  private mutating func moveToFront(_ slot: Int) {
    guard slot != head else { return }
    unlink(slot)
    nodes[slot].previous = -1
    nodes[slot].next = head
    if head >= 0 { nodes[head].previous = slot }
    head = slot
    if tail < 0 { tail = slot }
  }

  private mutating func unlink(_ slot: Int) {
    let (previous, next) = (nodes[slot].previous, nodes[slot].next)
    if previous >= 0 { nodes[previous].next = next } else { head = next }
    if next >= 0 { nodes[next].previous = previous } else { tail = previous }
  }
}
