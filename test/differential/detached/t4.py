import warnings; warnings.simplefilter("ignore")
from sqlalchemy import create_engine, Column, Integer, ForeignKey, select
from sqlalchemy.orm import declarative_base, relationship, Session
B = declarative_base()
class A(B):
    __tablename__ = "a"; id = Column(Integer, primary_key=True)
    one = relationship("K", uselist=False, back_populates="a")
class K(B):
    __tablename__ = "k"; id = Column(Integer, primary_key=True); a_id = Column(ForeignKey("a.id"))
    a = relationship("A", back_populates="one")
e = create_engine("sqlite://", future=True); B.metadata.create_all(e)
with Session(e) as s: s.add(A(id=1, one=K(id=1))); s.commit()
s = Session(e); a = s.get(A, 1); s.close()
try:
    a.one = K(id=2); print("o2o set unloaded detached ok")
except Exception as ex: print("o2o set unloaded:", type(ex).__name__)
s = Session(e); a = s.get(A, 1); a.one; s.close()
a.one = K(id=3); print("o2o set loaded ok")
e2 = create_engine("sqlite://", future=True); B.metadata.create_all(e2)
with Session(e2) as s: s.add(A(id=1, one=K(id=1))); s.commit()
s = Session(e2); a = s.get(A, 1); s.close()
a.one = K(id=2)
s2 = Session(e2); s2.add(a)
try:
    s2.commit()
except Exception as ex: print("commit:", type(ex).__name__, str(ex)[:200])
from sqlalchemy import text
with e2.connect() as c: print(list(c.execute(text("select * from k"))))
