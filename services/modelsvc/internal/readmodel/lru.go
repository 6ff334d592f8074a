package readmodel

import (
	"container/list"
	"context"
	"sync"
)

// lru caches loaded models by version number. Loads are shared: concurrent requests for one
// version wait for the same load. The latest version is never evicted.
type lru struct {
	mu      sync.Mutex
	cap     int
	latest  int64
	order   *list.List // front = most recently used; values are *entry
	entries map[int64]*list.Element
}

type entry struct {
	number int64
	done   chan struct{}
	loaded *Loaded
	err    error
}

func newLRU(capacity int) *lru {
	return &lru{cap: capacity, order: list.New(), entries: map[int64]*list.Element{}}
}

func (c *lru) setLatest(n int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.latest = n
	c.evictLocked()
}

func (c *lru) get(ctx context.Context, v *Version, load func(context.Context) (*Loaded, error)) (*Loaded, error) {
	c.mu.Lock()
	if el, ok := c.entries[v.Number]; ok {
		c.order.MoveToFront(el)
		e := el.Value.(*entry)
		c.mu.Unlock()
		return c.wait(ctx, e)
	}
	e := &entry{number: v.Number, done: make(chan struct{})}
	c.entries[v.Number] = c.order.PushFront(e)
	c.evictLocked()
	c.mu.Unlock()

	// The load belongs to the cache, not to the first caller: it finishes even if that caller
	// gives up, so the others waiting for it get the model.
	e.loaded, e.err = load(context.WithoutCancel(ctx))
	close(e.done)
	if e.err != nil {
		c.mu.Lock()
		if el, ok := c.entries[v.Number]; ok && el.Value.(*entry) == e {
			c.order.Remove(el)
			delete(c.entries, v.Number)
		}
		c.mu.Unlock()
	}
	return c.wait(ctx, e)
}

func (c *lru) wait(ctx context.Context, e *entry) (*Loaded, error) {
	select {
	case <-e.done:
		return e.loaded, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// evictLocked drops least recently used entries beyond the capacity, sparing the latest version.
func (c *lru) evictLocked() {
	for el := c.order.Back(); el != nil && c.order.Len() > c.cap; {
		prev := el.Prev()
		if e := el.Value.(*entry); e.number != c.latest {
			c.order.Remove(el)
			delete(c.entries, e.number)
		}
		el = prev
	}
}

// cached returns the version numbers in the cache, most recently used first (for tests).
func (c *lru) cached() []int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []int64
	for el := c.order.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*entry).number)
	}
	return out
}
