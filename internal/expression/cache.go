package expression

import (
	"math"
	"strconv"

	"github.com/maypok86/otter/v2"
)

// CacheBytesDefault is the memory, in estimated bytes, a Cache keeps when NewCache is given zero.
const CacheBytesDefault = 64 << 20

// Cache memoizes compiled templates. Templates are immutable, so one compiled template serves every
// workflow that uses the same text. It is bounded by the estimated memory of the templates it holds
// (Template.Weight), not by their number, and is safe for concurrent use.
type Cache struct {
	c *otter.Cache[string, *Template]
}

// NewCache returns a cache of templates weighing up to maxBytes in all (0: CacheBytesDefault).
func NewCache(maxBytes int64) *Cache {
	if maxBytes <= 0 {
		maxBytes = CacheBytesDefault
	}
	c := otter.Must(&otter.Options[string, *Template]{
		MaximumWeight: uint64(maxBytes), //nolint:gosec // positive: defaulted above
		Weigher: func(key string, t *Template) uint32 {
			return uint32(min(int64(len(key))+t.weight, math.MaxUint32)) //nolint:gosec // capped by min; weights are not negative
		},
	})
	return &Cache{c: c}
}

func (c *Cache) compile(source string, limits Limits) (*Template, error) {
	key := strconv.Itoa(limits.MaxLength) + "/" + strconv.FormatUint(uint64(limits.MaxNodes), 10) + "/" +
		strconv.FormatInt(limits.MaxValueBytes, 10) + "/" + source
	if t, ok := c.c.GetIfPresent(key); ok {
		return t, nil
	}
	t, err := compile(source, limits)
	if err != nil {
		return nil, err
	}
	c.c.Set(key, t)
	return t, nil
}

// Len returns the number of cached templates.
func (c *Cache) Len() int { return c.c.EstimatedSize() }

// Weight returns the estimated bytes the cached templates hold.
func (c *Cache) Weight() int64 { return int64(c.c.WeightedSize()) } //nolint:gosec // at most MaximumWeight, itself an int64
