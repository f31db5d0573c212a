from t1 import *
def c11b(e, log):
    s1 = Session(e, future=True); p = load(s1, P, P.children)
    for c in p.children: c.parent  # loaded from the identity map
    s1.close()
    c1 = [c for c in p.children if c.id == 1][0]
    s2 = Session(e, future=True); p2 = s2.get(P, 2); p2.children
    p2.children.append(c1)
    print("  c1 in s2", c1 in s2, "p in s2", p in s2, "p.children", [c.id for c in p.children])
    s2.commit(); print("  ", dml(log))
case("append detached child (parent loaded) to a session's parent", c11b)
def c13b(e, log):
    s1 = Session(e, future=True); p = load(s1, P, P.children); p2 = s1.get(P, 2)
    for c in p.children: c.parent
    s1.close()
    c1 = [c for c in p.children if c.id == 1][0]; c2 = [c for c in p.children if c.id == 2][0]
    c1.parent = p2; c2.parent = None
    print("  p.children", [c.id for c in p.children], "p2.children loaded", "children" in p2.__dict__)
    s2 = Session(e, future=True); s2.add(c1); print("  in s2: p2", p2 in s2, "p", p in s2, "c2", c2 in s2)
    s2.commit(); print("  ", dml(log)); print("  rows", rows(e, "select id,parent_id from children order by id"))
    print("  p2.children after commit", [c.id for c in s2.get(P, 2).children])
case("m2o set/unset detached, m2o loaded", c13b)
def c8b(e, log):
    s1 = Session(e, future=True); p = load(s1, P, P.children); s1.close()
    s3 = Session(e, future=True); c = s3.get(C, 2)
    s4 = Session(e, future=True); x = s4.get(P, 2); s4.close()
    x.children  # detached p2: children unloaded -> raise?
