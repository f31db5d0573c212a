from models import *
from sqlalchemy.orm import selectinload
import traceback
def load(s, cls, opt):
    return s.execute(select(cls).options(selectinload(opt)).where(cls.id == 1)).scalar_one()
def case(name, fn):
    e, log = engine()
    print("==", name)
    try:
        fn(e, log)
    except Exception as ex:
        print("  EXC", type(ex).__name__, str(ex).splitlines()[0])
# 1. o2m append/remove while detached, add to a second session
def c1(e, log):
    s1 = Session(e, future=True); p = load(s1, P, P.children); s1.close()
    c1 = [c for c in p.children if c.id == 1][0]
    p.children.remove(c1); print("  c1.parent after remove:", c1.parent)
    n = C(name="new"); p.children.append(n); print("  n.parent:", n.parent is p)
    s2 = Session(e, future=True); s2.add(p); print("  c1 in s2:", c1 in s2, "n in s2:", n in s2)
    s2.commit(); print("  ", dml(log)); print("  rows", rows(e, "select id,parent_id,name from children order by id"))
case("o2m append/remove detached", c1)
def c2(e, log):
    s1 = Session(e, future=True); p = load(s1, OP, OP.kids); s1.close()
    k1 = [c for c in p.kids if c.id == 1][0]
    p.kids.remove(k1)
    s2 = Session(e, future=True); s2.add(p); s2.commit(); print("  ", dml(log))
case("delete-orphan remove detached", c2)
def c3(e, log):
    s1 = Session(e, future=True); p = s1.get(P, 1); s1.close()
    try:
        p.children.append(C(name="x"))
    except Exception as ex:
        print("  append unloaded EXC", type(ex).__name__)
case("append unloaded collection detached", c3)
def c4(e, log):
    s1 = Session(e, future=True); c = s1.get(C, 1); p2 = s1.get(P, 2); s1.close()
    print("  parent loaded?", "parent" in c.__dict__)
    try:
        c.parent = p2; print("  set unloaded m2o ok; p2.children loaded?", "children" in p2.__dict__)
    except Exception as ex:
        print("  set unloaded m2o EXC", type(ex).__name__)
    s2 = Session(e, future=True); s2.add(c); s2.commit(); print("  ", dml(log))
case("set unloaded m2o detached", c4)
def c5(e, log):
    s1 = Session(e, future=True); c = s1.get(C, 1); p = c.parent; p2 = s1.get(P, 2); s1.close()
    print("  parent loaded?", "parent" in c.__dict__, "p.children loaded?", "children" in p.__dict__)
    c.parent = p2; print("  ok")
    s2 = Session(e, future=True); s2.add(c); print("  p2 in s2", p2 in s2, "p in s2", p in s2); s2.commit(); print("  ", dml(log))
case("set loaded m2o detached", c5)
def c6(e, log):
    s1 = Session(e, future=True); c = s1.get(C, 1); p = c.parent; s1.close()
    c.parent = None
    s2 = Session(e, future=True); s2.add(p); print("  c in s2 via p (p.children unloaded)?", c in s2); s2.commit(); print("  ", dml(log))
    s3 = Session(e, future=True); s3.add(c); s3.commit(); print("  ", dml(log))
case("unset m2o detached, add the parent", c6)
def c7(e, log):
    s1 = Session(e, future=True); post = load(s1, Post, Post.tags); t2 = s1.get(Tag, 2); s1.close()
    t1 = post.tags[0]
    print("  t1.posts loaded?", "posts" in t1.__dict__)
    post.tags.remove(t1); post.tags.append(t2); post.tags.append(Tag(name="t3"))
    s2 = Session(e, future=True); s2.add(post); print("  t1 in s2", t1 in s2, "t2 in s2", t2 in s2); s2.commit(); print("  ", dml(log))
    print("  rows", rows(e, "select * from post_tags order by 1,2"))
case("m2m detached", c7)
def c8(e, log):
    s1 = Session(e, future=True); p = load(s1, P, P.children); s1.close()
    s3 = Session(e, future=True); c = s3.get(C, 1)  # c1 in live s3, distinct object
    c2 = s3.get(P, 2)
    try:
        p.children.append(c); print("  append ok, c.parent is p:", c.parent is p)
    except Exception as ex:
        print("  append EXC", type(ex).__name__, ex)
    s2 = Session(e, future=True)
    try:
        s2.add(p)
    except Exception as ex:
        print("  add EXC", type(ex).__name__, str(ex)[:120])
    print("  p in s2 after failed add:", p in s2)
    s2.commit(); print("  s2", dml(log)); log.clear()
    s3.commit(); print("  s3", dml(log))
case("link detached to object of another live session", c8)
def c9(e, log):
    s1 = Session(e, future=True); p = load(s1, P, P.children); s1.expunge(p)
    s2 = Session(e, future=True)
    try:
        s2.add(p); print("  add ok")
    except Exception as ex:
        print("  add EXC", type(ex).__name__, str(ex)[:100])
    print("  p in s2", p in s2)
case("expunge p only, children stay in s1, add p to s2", c9)
def c10(e, log):
    s1 = Session(e, future=True); post = load(s1, Post, Post.tags); t2 = s1.get(Tag, 2)
    post.tags.append(t2); t1 = post.tags[0]; post.tags.remove(t1)
    s1.close()
    s2 = Session(e, future=True); s2.add(post); s2.commit(); print("  ", dml(log))
    print("  rows", rows(e, "select * from post_tags order by 1,2"))
case("m2m unflushed then close", c10)
def c11(e, log):
    s1 = Session(e, future=True); p = load(s1, P, P.children); s1.close()
    c1 = [c for c in p.children if c.id == 1][0]
    s2 = Session(e, future=True); p2 = s2.get(P, 2)
    p2.children.append(c1)
    print("  c1 in s2", c1 in s2, "p (old parent, detached) in s2", p in s2, "len p.children", len(p.children))
    s2.commit(); print("  ", dml(log))
case("append detached child to a session's parent", c11)
def c12(e, log):
    s1 = Session(e, future=True); p = load(s1, P, P.children); s1.close()
    c2 = [c for c in p.children if c.id == 2][0]; c1 = [c for c in p.children if c.id == 1][0]
    p.children = [c2, C(name="n2")]
    s2 = Session(e, future=True); s2.add(p); print("  c1 in s2", c1 in s2); s2.commit(); print("  ", dml(log))
case("replace detached", c12)
def c13(e, log):
    # m2o set on detached child with parent loaded, target p2 detached with children unloaded
    s1 = Session(e, future=True); p = load(s1, P, P.children); p2 = s1.get(P, 2); s1.close()
    c1 = [c for c in p.children if c.id == 1][0]; c2 = [c for c in p.children if c.id == 2][0]
    c1.parent = p2; c2.parent = None
    print("  p.children", [c.id for c in p.children], "p2.children loaded", "children" in p2.__dict__)
    s2 = Session(e, future=True); s2.add(c1); print("  in s2: p2", p2 in s2, "p", p in s2, "c2", c2 in s2)
    s2.commit(); print("  ", dml(log))
case("m2o set/unset detached", c13)
