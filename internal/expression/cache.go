package expression

import (
	"strconv"

	lru "github.com/hashicorp/golang-lru/v2"
)

// CacheSizeDefault is the number of templates a Cache keeps when NewCache is given zero.
const CacheSizeDefault = 20_000

// Cache memoizes compiled templates. Templates are immutable, so one compiled template serves every
// workflow that uses the same text. It is safe for concurrent use.
type Cache struct {
	lru *lru.Cache[string, *Template]
}

// NewCache returns a cache of up to size templates.
func NewCache(size int) *Cache {
	if size <= 0 {
		size = CacheSizeDefault
	}
	c, err := lru.New[string, *Template](size)
	if err != nil {
		panic(err) // only for a non-positive size, excluded above
	}
	return &Cache{lru: c}
}

func (c *Cache) compile(source string, limits Limits) (*Template, error) {
	key := strconv.Itoa(limits.MaxLength) + "/" + strconv.FormatUint(uint64(limits.MaxNodes), 10) + "/" + source
	if t, ok := c.lru.Get(key); ok {
		return t, nil
	}
	t, err := compile(source, limits)
	if err != nil {
		return nil, err
	}
	c.lru.Add(key, t)
	return t, nil
}

// Len returns the number of cached templates.
func (c *Cache) Len() int { return c.lru.Len() }
