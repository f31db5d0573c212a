import warnings
from sqlalchemy import create_engine, Column, Integer, String, ForeignKey, Table, event, select
from sqlalchemy.orm import declarative_base, relationship, Session
Base = declarative_base()
tags = Table("post_tags", Base.metadata, Column("post_id", ForeignKey("posts.id"), primary_key=True),
             Column("tag_id", ForeignKey("tags.id"), primary_key=True))
class P(Base):
    __tablename__ = "parents"
    id = Column(Integer, primary_key=True); name = Column(String)
    children = relationship("C", back_populates="parent")
class C(Base):
    __tablename__ = "children"
    id = Column(Integer, primary_key=True); name = Column(String)
    parent_id = Column(ForeignKey("parents.id")); parent = relationship("P", back_populates="children")
class OP(Base):
    __tablename__ = "oparents"
    id = Column(Integer, primary_key=True); name = Column(String)
    kids = relationship("OK", back_populates="parent", cascade="all, delete-orphan")
class OK(Base):
    __tablename__ = "okids"
    id = Column(Integer, primary_key=True); name = Column(String)
    parent_id = Column(ForeignKey("oparents.id")); parent = relationship("OP", back_populates="kids")
class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True); name = Column(String)
    tags = relationship("Tag", secondary=tags, back_populates="posts")
class Tag(Base):
    __tablename__ = "tags"
    id = Column(Integer, primary_key=True); name = Column(String)
    posts = relationship("Post", secondary=tags, back_populates="tags")
def engine():
    e = create_engine("sqlite://", future=True)
    log = []
    @event.listens_for(e, "before_cursor_execute")
    def _l(conn, cursor, stmt, params, ctx, many):
        log.append((stmt.split()[0], stmt, params))
    Base.metadata.create_all(e)
    with Session(e, future=True) as s:
        p1 = P(id=1, name="p1", children=[C(id=1, name="c1"), C(id=2, name="c2")]); p2 = P(id=2, name="p2")
        o = OP(id=1, name="o1", kids=[OK(id=1, name="k1"), OK(id=2, name="k2")])
        t1, t2 = Tag(id=1, name="t1"), Tag(id=2, name="t2")
        s.add_all([p1, p2, o, Post(id=1, name="post1", tags=[t1]), t2]); s.commit()
    log.clear()
    return e, log
def rows(e, sql):
    from sqlalchemy import text
    with e.connect() as c:
        return [tuple(r) for r in c.execute(text(sql))]
def dml(log):
    return [(k, st, p) for k, st, p in log if k in ("INSERT", "UPDATE", "DELETE")]
