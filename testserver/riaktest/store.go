package riaktest

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"time"

	"github.com/golang/protobuf/proto"

	rpbkv "github.com/basho/riak-go-client/rpb/riak_kv"

	"github.com/connfactory/connfactory/internal/riakpb"
)

type objKey struct{ typ, bucket, key string }

type object struct {
	content *rpbkv.RpbContent
	vclock  []byte
}

// store behaves like a bucket with allow_mult=false: the last write wins and
// there are never siblings, which is all a connection test needs.
type store struct {
	mu      sync.Mutex
	objs    map[objKey]*object
	counter uint64
}

func newStore() *store { return &store{objs: make(map[objKey]*object)} }

// nextVClock returns a fresh opaque vclock. Riak's are term_to_binary'd
// lists; clients treat them as opaque bytes, so a counter suffices.
func (st *store) nextVClock() []byte {
	st.counter++
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, st.counter)
	return b
}

func (st *store) value(k objKey) ([]byte, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	o, ok := st.objs[k]
	if !ok {
		return nil, false
	}
	return bytes.Clone(o.content.GetValue()), true
}

func (st *store) setValue(k objKey, v []byte) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.putLocked(k, &rpbkv.RpbContent{Value: bytes.Clone(v)})
}

func (st *store) putLocked(k objKey, c *rpbkv.RpbContent) *object {
	c = proto.Clone(c).(*rpbkv.RpbContent)
	if c.Value == nil {
		c.Value = []byte{}
	}
	now := time.Now()
	sec, usec := uint32(now.Unix()), uint32(now.Nanosecond()/1000)
	c.LastMod, c.LastModUsecs = &sec, &usec
	c.Vtag = []byte(randomID(22))
	c.Deleted = nil
	o := &object{content: c, vclock: st.nextVClock()}
	st.objs[k] = o
	return o
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomID mimics riak_core_util:unique_id_62, used for generated keys and vtags.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = base62[int(b[i])%len(base62)]
	}
	return string(b)
}

func keyOf(typ, bucket, key []byte) objKey {
	t := string(typ)
	if typ == nil {
		t = "default"
	}
	return objKey{typ: t, bucket: string(bucket), key: string(key)}
}

// contents returns the stored content as Riak encodes it; head blanks the value
// the way RpbGetReq.head and RpbPutReq.return_head do.
func (o *object) contents(head bool) []*rpbkv.RpbContent {
	c := proto.Clone(o.content).(*rpbkv.RpbContent)
	if head {
		c.Value = []byte{}
	}
	return []*rpbkv.RpbContent{c}
}

// zeroLength reproduces riak_kv_pb_object's guards: a field that is present but
// empty is an error, an absent optional one is not.
func zeroLength(bucket, key, typ []byte, keyRequired bool) string {
	switch {
	case len(bucket) == 0:
		return "Bucket cannot be zero-length"
	case key != nil && len(key) == 0, keyRequired && len(key) == 0:
		return "Key cannot be zero-length"
	case typ != nil && len(typ) == 0:
		return "Type cannot be zero-length"
	}
	return ""
}

func (ss *session) decode(body []byte, m proto.Message) bool {
	if err := proto.Unmarshal(body, m); err != nil {
		_ = ss.writeError(fmt.Sprintf("Message decoding error: %v", err))
		return false
	}
	return true
}

func (ss *session) get(body []byte) error {
	var req rpbkv.RpbGetReq
	if !ss.decode(body, &req) {
		return nil
	}
	if msg := zeroLength(req.Bucket, req.Key, req.Type, true); msg != "" {
		return ss.writeError(msg)
	}
	st := ss.s.store
	st.mu.Lock()
	o, ok := st.objs[keyOf(req.Type, req.Bucket, req.Key)]
	var resp rpbkv.RpbGetResp
	switch {
	case !ok:
		// notfound is an empty RpbGetResp, not an error.
	case req.IfModified != nil && bytes.Equal(req.IfModified, o.vclock):
		t := true
		resp.Unchanged = &t
	default:
		resp.Content = o.contents(req.GetHead())
		resp.Vclock = bytes.Clone(o.vclock)
	}
	st.mu.Unlock()
	return ss.writeMsg(riakpb.GetResp, &resp)
}

func (ss *session) put(body []byte) error {
	var req rpbkv.RpbPutReq
	if !ss.decode(body, &req) {
		return nil
	}
	if msg := zeroLength(req.Bucket, req.Key, req.Type, false); msg != "" {
		return ss.writeError(msg)
	}
	var generated []byte
	if req.Key == nil {
		generated = []byte(randomID(22))
		req.Key = generated
	}
	k := keyOf(req.Type, req.Bucket, req.Key)
	st := ss.s.store
	st.mu.Lock()
	old, exists := st.objs[k]
	switch {
	case req.GetIfNoneMatch() && exists:
		st.mu.Unlock()
		return ss.writeError("match_found")
	case req.GetIfNotModified() && !exists:
		st.mu.Unlock()
		return ss.writeError("notfound")
	case req.GetIfNotModified() && !bytes.Equal(req.Vclock, old.vclock):
		st.mu.Unlock()
		return ss.writeError("modified")
	}
	o := st.putLocked(k, req.Content)
	var resp rpbkv.RpbPutResp
	if req.GetReturnBody() || req.GetReturnHead() {
		resp.Content = o.contents(req.GetReturnHead())
		resp.Vclock = bytes.Clone(o.vclock)
	}
	st.mu.Unlock()
	resp.Key = generated
	return ss.writeMsg(riakpb.PutResp, &resp)
}

func (ss *session) del(body []byte) error {
	var req rpbkv.RpbDelReq
	if !ss.decode(body, &req) {
		return nil
	}
	st := ss.s.store
	st.mu.Lock()
	// Deleting a missing key succeeds, as in Riak.
	delete(st.objs, keyOf(req.Type, req.Bucket, req.Key))
	st.mu.Unlock()
	return ss.writeFrame(riakpb.DelResp, nil)
}
