# A python3 workload for tests/real: the standard library's pure-Python and C
# modules, classes, exceptions, generators and threads. Deterministic output.
import collections, hashlib, json, re, threading, sqlite3, decimal, textwrap

class Account:
    def __init__(self, name, balance):
        self.name, self.balance = name, balance
    def withdraw(self, n):
        if n > self.balance:
            raise ValueError("insufficient funds in %s" % self.name)
        self.balance -= n

accounts = [Account("acct%d" % i, i * 10) for i in range(200)]
failed = 0
for i, a in enumerate(accounts):
    try:
        a.withdraw(i * 7 % 300)
    except ValueError:
        failed += 1
print("accounts", sum(a.balance for a in accounts), "failed", failed)

doc = {"items": [{"id": i, "tags": ["t%d" % (i % 7)] * (i % 4), "x": i / 3} for i in range(2000)]}
s = json.dumps(doc, sort_keys=True)
back = json.loads(s)
print("json", len(s), len(back["items"]), hashlib.sha256(s.encode()).hexdigest()[:16])

words = re.findall(r"[a-z]+", textwrap.dedent(__doc__ or "") + " ".join(
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod".split() * 50))
print("words", collections.Counter(words).most_common(3))

def gen(n):
    for i in range(n):
        yield i * i
print("gen", sum(gen(100000)))

lock = threading.Lock()
totals = collections.defaultdict(int)
def work(k):
    local = [str(i) * (i % 5) for i in range(5000)]
    with lock:
        totals[k] = sum(map(len, local))
threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print("threads", sorted(totals.items())[:3], sum(totals.values()))

db = sqlite3.connect(":memory:")
db.execute("create table t(a integer, b text)")
db.executemany("insert into t values(?, ?)", [(i, str(i)) for i in range(1000)])
print("sqlite", db.execute("select count(*), sum(a) from t").fetchone())
db.close()

decimal.getcontext().prec = 50
print("decimal", decimal.Decimal(1) / decimal.Decimal(7))
