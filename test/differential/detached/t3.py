from t1 import *
def c14(e, log):
    s1 = Session(e, future=True); p = load(s1, P, P.children)
    c1 = [c for c in p.children if c.id == 1][0]
    p.children.remove(c1)
    s1.close()
    s2 = Session(e, future=True); s2.add(p); print("  c1 in s2", c1 in s2); s2.commit(); print("  ", dml(log))
case("o2m remove in session, close, add parent", c14)
def c15(e, log):
    s1 = Session(e, future=True); p = load(s1, OP, OP.kids)
    k1 = [c for c in p.kids if c.id == 1][0]
    p.kids.remove(k1)
    s1.close()
    s2 = Session(e, future=True); s2.add(p); print("  k1 in s2", k1 in s2); s2.commit(); print("  ", dml(log))
case("delete-orphan remove in session, close, add parent", c15)
