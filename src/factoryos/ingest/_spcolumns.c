/* The Sparkplug DATA hot path in C: one payload's bytes straight to the batch's sample buffers.
 *
 * factoryos.ingest.spdata is the reference: this module does what ``DataPath.take`` does for a
 * message whose metrics are sensor samples or values no rule names, and declines (returns None,
 * having changed nothing) every other message, which then takes the Python path. Declining is
 * always safe, so the parser here accepts only the plain protobuf encoding of a Sparkplug payload
 * and declines anything else it would have to second-guess protobuf's runtime on (unknown fields,
 * a field in an unexpected wire type, metadata, properties, compound values, a varint whose tenth
 * byte carries more than the 64th bit). tests/ingest/test_spcolumns.py compares the two over
 * random payloads.
 *
 * Why C: in Python the message's ~7 protobuf field reads a metric through upb, the checks and the
 * event id cost ~2.2 us a metric, 35 times protobuf's parse alone (docs/ingest.md).
 *
 * Not thread-safe without the GIL: the scratch arrays and the generation counter are module-wide (the GIL is held
 * throughout; nothing here calls back into Python code).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "little-endian hosts only: protobuf's fixed32/64 values are read as they lie"
#endif

/* ---- the per-device table: alias or name -> slot ------------------------------------------ */

enum { KIND_UNMAPPED = 0, KIND_SAMPLE = 1, KIND_OTHER = 2 };

#define DIGEST_LEN 15 /* hex digits of convert.metric_digest */
#define TS_DIGITS 12  /* hex digits of the instant in ms */
#define MAX_TS_MS 253402300799999ULL /* convert.MAX_TS_MS: 9999-12-31T23:59:59.999Z */

typedef struct {
    uint32_t datatype;
    uint8_t field;  /* the oneof field number its value must arrive in (10..16) */
    uint8_t bits;   /* a signed integer's bits, or 0 */
    uint8_t kind;
    PyObject *path, *sensor, *unit; /* owned */
    char digest[DIGEST_LEN]; /* the event id's source-and-metric part (convert.metric_digest) */
    uint64_t generation; /* the Samples whose dictionary holds this slot at ``code`` */
    int32_t code;
} Slot;

typedef struct {
    uint64_t alias;
    Slot *slot; /* NULL: an empty cell */
} AliasCell;

typedef struct {
    const char *name; /* UTF-8, owned by the slot's name bytes object */
    Py_ssize_t len;
    Slot *slot;
} NameCell;

typedef struct {
    PyObject_HEAD Slot *slots;
    Py_ssize_t nslots;
    AliasCell *aliases;
    size_t alias_mask;
    NameCell *names;
    size_t name_mask;
    PyObject *name_bytes; /* a list keeping the names' UTF-8 alive */
} Table;

static inline size_t hash_u64(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static inline size_t hash_bytes(const char *s, Py_ssize_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (Py_ssize_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return (size_t)h;
}

static size_t table_size(Py_ssize_t n) {
    size_t size = 8;
    while (size < (size_t)n * 2) size <<= 1;
    return size;
}

static void Table_dealloc(Table *self) {
    for (Py_ssize_t i = 0; i < self->nslots; i++) {
        Slot *s = &self->slots[i];
        Py_XDECREF(s->path);
        Py_XDECREF(s->sensor);
        Py_XDECREF(s->unit);
    }
    PyMem_Free(self->slots);
    PyMem_Free(self->aliases);
    PyMem_Free(self->names);
    Py_XDECREF(self->name_bytes);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* A slot from (datatype, field, bits, kind, path, digest, sensor, unit). */
static int fill_slot(Slot *s, PyObject *spec) {
    unsigned int datatype, field, bits, kind;
    PyObject *path, *digest, *sensor, *unit;
    if (!PyArg_ParseTuple(spec, "IIIIUSUO", &datatype, &field, &bits, &kind, &path, &digest,
                          &sensor, &unit))
        return -1;
    if (field < 10 || field > 16 || bits > 64 || kind > KIND_OTHER ||
        (kind == KIND_SAMPLE && PyBytes_GET_SIZE(digest) != DIGEST_LEN) ||
        (unit != Py_None && !PyUnicode_Check(unit))) {
        PyErr_SetString(PyExc_ValueError, "not a slot of the Sparkplug hot path");
        return -1;
    }
    s->datatype = datatype;
    s->field = (uint8_t)field;
    s->bits = (uint8_t)bits;
    s->kind = (uint8_t)kind;
    if (kind == KIND_SAMPLE) /* only a sample's id is made here */
        memcpy(s->digest, PyBytes_AS_STRING(digest), DIGEST_LEN);
    Py_INCREF(path);
    s->path = path;
    Py_INCREF(sensor);
    s->sensor = sensor;
    Py_INCREF(unit);
    s->unit = unit;
    return 0;
}

static PyObject *Table_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *by_alias, *by_name;
    static char *kwlist[] = {"by_alias", "by_name", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!", kwlist, &PyList_Type, &by_alias,
                                     &PyList_Type, &by_name))
        return NULL;
    Table *self = (Table *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    Py_ssize_t na = PyList_GET_SIZE(by_alias), nn = PyList_GET_SIZE(by_name);
    self->slots = PyMem_Calloc((size_t)(na + nn) + 1, sizeof(Slot));
    self->alias_mask = table_size(na) - 1;
    self->aliases = PyMem_Calloc(self->alias_mask + 1, sizeof(AliasCell));
    self->name_mask = table_size(nn) - 1;
    self->names = PyMem_Calloc(self->name_mask + 1, sizeof(NameCell));
    self->name_bytes = PyList_New(0);
    if (!self->slots || !self->aliases || !self->names || !self->name_bytes) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < na; i++) {
        PyObject *item = PyList_GET_ITEM(by_alias, i);
        unsigned long long alias;
        PyObject *spec;
        if (!PyArg_ParseTuple(item, "KO!", &alias, &PyTuple_Type, &spec)) goto fail;
        Slot *s = &self->slots[self->nslots];
        if (fill_slot(s, spec) < 0) goto fail;
        self->nslots++;
        size_t at = hash_u64(alias) & self->alias_mask;
        while (self->aliases[at].slot && self->aliases[at].alias != alias)
            at = (at + 1) & self->alias_mask;
        self->aliases[at].alias = alias;
        self->aliases[at].slot = s;
    }
    for (Py_ssize_t i = 0; i < nn; i++) {
        PyObject *item = PyList_GET_ITEM(by_name, i);
        PyObject *name, *spec;
        if (!PyArg_ParseTuple(item, "UO!", &name, &PyTuple_Type, &spec)) goto fail;
        PyObject *utf8 = PyUnicode_AsUTF8String(name);
        if (utf8 == NULL) goto fail;
        int kept = PyList_Append(self->name_bytes, utf8);
        Py_DECREF(utf8);
        if (kept < 0) goto fail;
        Slot *s = &self->slots[self->nslots];
        if (fill_slot(s, spec) < 0) goto fail;
        self->nslots++;
        const char *text = PyBytes_AS_STRING(utf8);
        Py_ssize_t len = PyBytes_GET_SIZE(utf8);
        size_t at = hash_bytes(text, len) & self->name_mask;
        while (self->names[at].slot &&
               !(self->names[at].len == len && memcmp(self->names[at].name, text, len) == 0))
            at = (at + 1) & self->name_mask;
        self->names[at].name = text;
        self->names[at].len = len;
        self->names[at].slot = s;
    }
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

static inline Slot *by_alias(Table *t, uint64_t alias) {
    size_t at = hash_u64(alias) & t->alias_mask;
    while (t->aliases[at].slot) {
        if (t->aliases[at].alias == alias) return t->aliases[at].slot;
        at = (at + 1) & t->alias_mask;
    }
    return NULL;
}

static inline Slot *by_name(Table *t, const uint8_t *name, Py_ssize_t len) {
    size_t at = hash_bytes((const char *)name, len) & t->name_mask;
    while (t->names[at].slot) {
        NameCell *c = &t->names[at];
        if (c->len == len && memcmp(c->name, name, len) == 0) return c->slot;
        at = (at + 1) & t->name_mask;
    }
    return NULL;
}

/* ---- protobuf wire format: the plain encoding only, anything else declines ----------------- */

static inline int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out) {
    const uint8_t *q = *p;
    uint64_t v = 0;
    for (int i = 0; i < 10; i++) {
        if (q >= end) return 0;
        uint8_t b = *q++;
        if (i == 9 && b > 1) return 0;
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        if (!(b & 0x80)) {
            *p = q;
            *out = v;
            return 1;
        }
    }
    return 0;
}

static inline int read_len(const uint8_t **p, const uint8_t *end, const uint8_t **start,
                           Py_ssize_t *len) {
    uint64_t n;
    if (!read_varint(p, end, &n) || n > (uint64_t)(end - *p)) return 0;
    *start = *p;
    *len = (Py_ssize_t)n;
    *p += n;
    return 1;
}

typedef struct {
    const uint8_t *name;
    Py_ssize_t name_len;
    uint64_t alias, ts, u; /* u: an integer or boolean value */
    double d;              /* a float or double value */
    uint32_t datatype;
    uint8_t has_name, has_alias, has_ts, has_datatype, is_null;
    uint8_t which; /* the oneof field set last, 0: none */
} RawMetric;

/* One Metric message; 0 for anything the Python path is to judge. */
static int parse_metric(const uint8_t *p, const uint8_t *end, RawMetric *m) {
    memset(m, 0, sizeof *m);
    while (p < end) {
        uint64_t tag, v;
        const uint8_t *s;
        Py_ssize_t n;
        if (!read_varint(&p, end, &tag)) return 0;
        switch (tag) {
        case (1 << 3) | 2:
            if (!read_len(&p, end, &m->name, &m->name_len)) return 0;
            m->has_name = 1;
            break;
        case (2 << 3) | 0:
            if (!read_varint(&p, end, &m->alias)) return 0;
            m->has_alias = 1;
            break;
        case (3 << 3) | 0:
            if (!read_varint(&p, end, &m->ts)) return 0;
            m->has_ts = 1;
            break;
        case (4 << 3) | 0:
            if (!read_varint(&p, end, &v)) return 0;
            m->datatype = (uint32_t)v; /* a uint32 field keeps the low 32 bits, as upb does */
            m->has_datatype = 1;
            break;
        case (5 << 3) | 0: /* is_historical, is_transient: the hot path reads neither */
        case (6 << 3) | 0:
            if (!read_varint(&p, end, &v)) return 0;
            break;
        case (7 << 3) | 0:
            if (!read_varint(&p, end, &v)) return 0;
            m->is_null = v != 0;
            break;
        case (10 << 3) | 0:
            if (!read_varint(&p, end, &v)) return 0;
            m->u = (uint32_t)v;
            m->which = 10;
            break;
        case (11 << 3) | 0:
            if (!read_varint(&p, end, &m->u)) return 0;
            m->which = 11;
            break;
        case (12 << 3) | 5: {
            float f;
            if (end - p < 4) return 0;
            memcpy(&f, p, 4);
            p += 4;
            m->d = (double)f;
            m->which = 12;
            break;
        }
        case (13 << 3) | 1:
            if (end - p < 8) return 0;
            memcpy(&m->d, p, 8);
            p += 8;
            m->which = 13;
            break;
        case (14 << 3) | 0:
            if (!read_varint(&p, end, &v)) return 0;
            m->u = v != 0;
            m->which = 14;
            break;
        case (15 << 3) | 2: /* string and bytes values: only their presence matters here */
        case (16 << 3) | 2:
            if (!read_len(&p, end, &s, &n)) return 0;
            m->which = (uint8_t)(tag >> 3);
            break;
        default: /* metadata, properties, compound values, unknown fields */
            return 0;
        }
    }
    return 1;
}

/* ---- Samples: a batch's samples in flat buffers, the Arrow columns' layout ------------------ */

/* Every event id the decoder makes is "in-" + the instant in 12 hex digits + "-" + the slot's
 * digest + "-" + seq + "." + index (convert.event_id). */
#define ID_LEN (3 + TS_DIGITS + 1 + DIGEST_LEN + 8)

/* A batch's samples as Arrow wants them, so that its table is made without a Python object a
 * value: ids as one buffer of fixed-width ASCII, timestamps (int64 microseconds) and values
 * (float64) as arrays, and path, sensor and unit as int32 codes into the batch's dictionary of
 * slots (a slot's three strings are appended to the dictionary the first time the batch takes a
 * sample of it). ``generation`` tells one Samples' codes from another's in the slots. */
typedef struct {
    PyObject_HEAD uint64_t generation;
    Py_ssize_t n, cap;
    char *ids;
    int64_t *ts_us;
    double *values;
    int32_t *codes;
    PyObject *paths, *sensors, *units; /* lists: the dictionary, by code */
} Samples;

static uint64_t generations = 0;

static PyObject *Samples_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    static char *kwlist[] = {NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "", kwlist)) return NULL;
    Samples *self = (Samples *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->generation = ++generations;
    self->paths = PyList_New(0);
    self->sensors = PyList_New(0);
    self->units = PyList_New(0);
    if (!self->paths || !self->sensors || !self->units) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static void Samples_dealloc(Samples *self) {
    PyMem_Free(self->ids);
    PyMem_Free(self->ts_us);
    PyMem_Free(self->values);
    PyMem_Free(self->codes);
    Py_XDECREF(self->paths);
    Py_XDECREF(self->sensors);
    Py_XDECREF(self->units);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static Py_ssize_t Samples_len(Samples *self) { return self->n; }

/* Room for ``more`` samples; -1 with MemoryError, the samples unchanged. */
static int Samples_reserve(Samples *self, Py_ssize_t more) {
    Py_ssize_t want = self->n + more;
    if (want <= self->cap) return 0;
    Py_ssize_t cap = self->cap ? self->cap : 4096;
    while (cap < want) cap *= 2;
    char *ids = PyMem_Realloc(self->ids, (size_t)cap * ID_LEN);
    if (ids) self->ids = ids;
    int64_t *ts = PyMem_Realloc(self->ts_us, (size_t)cap * sizeof *ts);
    if (ts) self->ts_us = ts;
    double *values = PyMem_Realloc(self->values, (size_t)cap * sizeof *values);
    if (values) self->values = values;
    int32_t *codes = PyMem_Realloc(self->codes, (size_t)cap * sizeof *codes);
    if (codes) self->codes = codes;
    if (!ids || !ts || !values || !codes) {
        PyErr_NoMemory();
        return -1;
    }
    self->cap = cap;
    return 0;
}

/* The slot's code in this batch's dictionary, appending its strings the first time. */
static int32_t Samples_code(Samples *self, Slot *slot) {
    if (slot->generation == self->generation) return slot->code;
    Py_ssize_t code = PyList_GET_SIZE(self->paths);
    if (PyList_Append(self->paths, slot->path) < 0 ||
        PyList_Append(self->sensors, slot->sensor) < 0 ||
        PyList_Append(self->units, slot->unit) < 0) {
        /* the three lists stay of one length: a code means the same index in each */
        PyObject *lists[3] = {self->paths, self->sensors, self->units};
        for (int i = 0; i < 3; i++)
            if (PyList_GET_SIZE(lists[i]) > code) PyList_SetSlice(lists[i], code, code + 1, NULL);
        return -1;
    }
    slot->generation = self->generation;
    slot->code = (int32_t)code;
    return slot->code;
}

PyDoc_STRVAR(columns_doc,
             "columns() -> (ids, ts_us, values, codes, paths, sensors, units)\n\n"
             "Copies of the buffers (bytes: ids of 31 ASCII characters each, int64, float64, int32\n"
             "codes) and of the dictionary's lists (a code is an index into them).");

static PyObject *Samples_columns(Samples *self, PyObject *unused) {
    Py_ssize_t n = self->n;
    PyObject *paths = PyList_GetSlice(self->paths, 0, PY_SSIZE_T_MAX);
    PyObject *sensors = PyList_GetSlice(self->sensors, 0, PY_SSIZE_T_MAX);
    PyObject *units = PyList_GetSlice(self->units, 0, PY_SSIZE_T_MAX);
    PyObject *result = NULL;
    /* before the first sample the buffers are NULL, which "y#" would make None, not b"" */
    static const char none[1];
    if (paths && sensors && units)
        result = Py_BuildValue("y#y#y#y#OOO", n ? self->ids : none, n * ID_LEN,
                               n ? (const char *)self->ts_us : none,
                               n * (Py_ssize_t)sizeof(int64_t),
                               n ? (const char *)self->values : none,
                               n * (Py_ssize_t)sizeof(double),
                               n ? (const char *)self->codes : none,
                               n * (Py_ssize_t)sizeof(int32_t), paths, sensors, units);
    Py_XDECREF(paths);
    Py_XDECREF(sensors);
    Py_XDECREF(units);
    return result;
}

static PyMethodDef Samples_methods[] = {
    {"columns", (PyCFunction)Samples_columns, METH_NOARGS, columns_doc}, {NULL, NULL, 0, NULL}};

static PySequenceMethods Samples_as_sequence = {.sq_length = (lenfunc)Samples_len};

static PyTypeObject SamplesType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "factoryos.ingest._spcolumns.Samples",
    .tp_doc = PyDoc_STR("A batch's samples taken by Table.take, in Arrow's layout."),
    .tp_basicsize = sizeof(Samples),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Samples_new,
    .tp_dealloc = (destructor)Samples_dealloc,
    .tp_methods = Samples_methods,
    .tp_as_sequence = &Samples_as_sequence,
};

/* ---- take ----------------------------------------------------------------------------------- */

#define MAX_METRICS 1000 /* spdata._INDEX: a metric's index has three digits in its id */

typedef struct {
    const uint8_t *at;
    Py_ssize_t len;
} Span;

typedef struct {
    Slot *slot;
    double value;
    uint64_t ts;
    int index;
} Sample;

static Span spans[MAX_METRICS];
static Sample samples[MAX_METRICS];

static const char HEX[] = "0123456789abcdef";

/* The sample's event id, ID_LEN characters at ``out`` (spdata: "in-{ts:012x}-{digest}-{seq}.{index}";
 * ts at most MAX_TS_MS, below 16**12, checked in the first pass). */
static void event_id(const Slot *slot, uint64_t ts, int seq, int index, char *out) {
    memcpy(out, "in-", 3);
    for (int i = TS_DIGITS - 1; i >= 0; i--, ts >>= 4) out[3 + i] = HEX[ts & 15];
    char *o = out + 3 + TS_DIGITS;
    *o++ = '-';
    memcpy(o, slot->digest, DIGEST_LEN);
    o += DIGEST_LEN;
    *o++ = '-';
    *o++ = (char)('0' + seq / 100);
    *o++ = (char)('0' + seq / 10 % 10);
    *o++ = (char)('0' + seq % 10);
    *o++ = '.';
    *o++ = (char)('0' + index / 100);
    *o++ = (char)('0' + index / 10 % 10);
    *o = (char)('0' + index % 10);
}

/* A signed integer's value from its unsigned two's complement, as sparkplug.typed_value. */
static inline int64_t signed_value(uint64_t raw, int bits) {
    if (bits == 64) return (int64_t)raw;
    if (raw < (1ULL << (bits - 1))) return (int64_t)raw;
    int width = raw < (1ULL << bits) ? bits : 32;
    return (int64_t)raw - (int64_t)(1ULL << width);
}

PyDoc_STRVAR(take_doc,
             "take(data, seq, latest, samples) -> (samples, unmapped, payload_ts) | None\n\n"
             "Take an NDATA/DDATA whole, its samples appended to ``samples`` (a Samples), or\n"
             "None, having changed nothing: the Python path's.\n"
             "``seq``: the session's next seq; ``latest``: the newest timestamp a mapped value\n"
             "may have (ms), or None.");

static PyObject *Table_take(Table *self, PyObject *args) {
    Py_buffer data;
    int seq_expected;
    PyObject *latest_obj;
    Samples *out;
    if (!PyArg_ParseTuple(args, "y*iOO!", &data, &seq_expected, &latest_obj, &SamplesType, &out))
        return NULL;
    PyObject *result = NULL;
    int has_latest = latest_obj != Py_None, latest_negative = 0;
    uint64_t latest = 0;
    if (seq_expected < 0 || seq_expected > 255) {
        PyErr_SetString(PyExc_ValueError, "take: a seq in 0..255");
        goto done;
    }
    if (has_latest) {
        long long l = PyLong_AsLongLong(latest_obj);
        if (l == -1 && PyErr_Occurred()) goto done;
        latest_negative = l < 0;
        latest = (uint64_t)l;
    }

    /* The payload: its fields in any order, the last of a repeated scalar winning. */
    const uint8_t *p = data.buf, *end = p + data.len;
    uint64_t payload_ts = 0, seq = 0;
    int has_payload_ts = 0, has_seq = 0, count = 0;
    while (p < end) {
        uint64_t tag;
        const uint8_t *s;
        Py_ssize_t n;
        if (!read_varint(&p, end, &tag)) goto decline;
        switch (tag) {
        case (1 << 3) | 0:
            if (!read_varint(&p, end, &payload_ts)) goto decline;
            has_payload_ts = 1;
            break;
        case (2 << 3) | 2:
            if (!read_len(&p, end, &s, &n) || count == MAX_METRICS) goto decline;
            spans[count].at = s;
            spans[count].len = n;
            count++;
            break;
        case (3 << 3) | 0:
            if (!read_varint(&p, end, &seq)) goto decline;
            has_seq = 1;
            break;
        case (4 << 3) | 2: /* uuid, body: not read */
        case (5 << 3) | 2:
            if (!read_len(&p, end, &s, &n)) goto decline;
            break;
        default:
            goto decline;
        }
    }
    if (!has_seq || seq != (uint64_t)seq_expected) goto decline;

    /* First pass: every check that could decline, nothing changed yet (spdata's first pass). */
    int nsamples = 0, unmapped = 0;
    for (int index = 0; index < count; index++) {
        RawMetric m;
        if (!parse_metric(spans[index].at, spans[index].at + spans[index].len, &m)) goto decline;
        Slot *slot;
        if (m.has_name) { /* a name wins over an alias; "" is a name too */
            slot = by_name(self, m.name, m.name_len);
            if (!m.datatype && m.has_datatype) goto decline;
        } else {
            slot = m.alias || m.has_alias ? by_alias(self, m.alias) : NULL;
        }
        if (slot == NULL || (m.datatype && m.datatype != slot->datatype)) goto decline;
        int has_ts = m.has_ts || has_payload_ts;
        uint64_t ts = m.has_ts ? m.ts : payload_ts;
        if (m.is_null) {
            unmapped++;
            continue;
        }
        if (m.which != slot->field) goto decline;
        if (slot->kind == KIND_UNMAPPED) {
            unmapped++;
            continue;
        }
        if (!has_ts || (has_latest && (latest_negative || ts > latest))) goto decline;
        if (slot->kind != KIND_SAMPLE) goto decline; /* a reading for the converter */
        double value;
        switch (m.which) {
        case 10:
        case 11:
            if (slot->bits)
                value = (double)signed_value(m.u, slot->bits);
            else
                value = (double)m.u;
            break;
        case 12:
        case 13:
            if (!isfinite(m.d)) goto decline;
            value = m.d;
            break;
        default: /* a boolean, string or bytes value is no sample */
            goto decline;
        }
        /* past the year 9999 (convert.MAX_TS_MS): the converter's dead letter. This also keeps
         * the id's instant in 12 hex digits and ts * 1000 a 64-bit microsecond count. */
        if (ts > MAX_TS_MS) goto decline;
        samples[nsamples].slot = slot;
        samples[nsamples].value = value;
        samples[nsamples].ts = ts;
        samples[nsamples].index = index;
        nsamples++;
    }

    /* Arrow's int32 offsets of the ids stay below 2**31: a batch that big is the Python path's */
    if (out->n + nsamples > INT32_MAX / ID_LEN) goto decline;

    /* Second pass: the message is ours. Room and codes first, so that nothing after can fail. */
    if (Samples_reserve(out, nsamples) < 0) goto done;
    int32_t codes[MAX_METRICS];
    for (int i = 0; i < nsamples; i++)
        if ((codes[i] = Samples_code(out, samples[i].slot)) < 0) goto done;
    for (int i = 0; i < nsamples; i++) {
        Sample *s = &samples[i];
        Py_ssize_t at = out->n + i;
        event_id(s->slot, s->ts, seq_expected, s->index, out->ids + at * ID_LEN);
        out->ts_us[at] = (int64_t)s->ts * 1000;
        out->values[at] = s->value;
        out->codes[at] = codes[i];
    }
    out->n += nsamples;
    if (has_payload_ts)
        result = Py_BuildValue("iiK", nsamples, unmapped, (unsigned long long)payload_ts);
    else
        result = Py_BuildValue("iiO", nsamples, unmapped, Py_None);
    goto done;
decline:
    Py_INCREF(Py_None);
    result = Py_None;
done:
    PyBuffer_Release(&data);
    return result;
}

static PyMethodDef Table_methods[] = {
    {"take", (PyCFunction)Table_take, METH_VARARGS, take_doc},
    {NULL, NULL, 0, NULL}};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "factoryos.ingest._spcolumns.Table",
    .tp_doc = PyDoc_STR("One device's metrics by alias and by name, as its birth declared them:\n"
                        "Table(by_alias=[(alias, slot)], by_name=[(name, slot)]), a slot being\n"
                        "(datatype, field number, signed bits, kind, path, digest, sensor, unit)."),
    .tp_basicsize = sizeof(Table),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Table_new,
    .tp_dealloc = (destructor)Table_dealloc,
    .tp_methods = Table_methods,
};

static PyMethodDef module_methods[] = {{NULL, NULL, 0, NULL}};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_spcolumns",
                                    PyDoc_STR("Sparkplug DATA payloads to sample columns (C)."), -1,
                                    module_methods};

PyMODINIT_FUNC PyInit__spcolumns(void) {
    if (PyType_Ready(&TableType) < 0 || PyType_Ready(&SamplesType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddObjectRef(m, "Table", (PyObject *)&TableType) < 0 ||
        PyModule_AddObjectRef(m, "Samples", (PyObject *)&SamplesType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
