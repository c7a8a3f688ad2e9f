import ctypes, json
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
# one block leaked on purpose: its address only in an int, which is no pointer
p = libc.malloc(77)
ctypes.memset(p, 0x5a, 77)
del p
d = {str(i): list(range(i % 7)) for i in range(2000)}
print(len(json.dumps(d)), sum(len(v) for v in d.values()))
