# examples/service_models.py — the six models of examples/service_models.h, with SQLAlchemy
# (declarative, 1.4/2.0 style), for the line count in README (between the BEGIN/END marks).
from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Integer, Table, Text, func
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()

# BEGIN models
order_tags = Table("order_tags", Base.metadata, Column("order_id", ForeignKey("orders.id"), primary_key=True),
                   Column("tag_id", ForeignKey("tags.id"), primary_key=True))

class Customer(Base):
    __tablename__ = "customers"
    id = Column(BigInteger, primary_key=True)
    name = Column(Text, nullable=False)
    orders = relationship("Order", back_populates="customer", cascade="all, delete-orphan")

class Order(Base):
    __tablename__ = "orders"
    id = Column(BigInteger, primary_key=True)
    customer_id = Column(ForeignKey("customers.id"), nullable=False)
    placed = Column(DateTime(timezone=True), server_default=func.now())
    customer = relationship("Customer", back_populates="orders")
    lines = relationship("Line", back_populates="order", cascade="all, delete-orphan", order_by="Line.no")
    tags = relationship("Tag", secondary=order_tags, back_populates="orders")

class Line(Base):
    __tablename__ = "lines"
    id = Column(BigInteger, primary_key=True)
    order_id = Column(ForeignKey("orders.id"), nullable=False)
    product_id = Column(ForeignKey("products.id"), nullable=False)
    no = Column(Integer, nullable=False)
    qty = Column(Integer, nullable=False)
    order = relationship("Order", back_populates="lines")
    product = relationship("Product")

class Product(Base):
    __tablename__ = "products"
    id = Column(BigInteger, primary_key=True)
    name = Column(Text, nullable=False, unique=True)
    category_id = Column(ForeignKey("categories.id"))
    category = relationship("Category", back_populates="products")

class Category(Base):
    __tablename__ = "categories"
    id = Column(BigInteger, primary_key=True)
    name = Column(Text, nullable=False)
    parent_id = Column(ForeignKey("categories.id"))
    parent = relationship("Category", remote_side=[id], back_populates="children")
    children = relationship("Category", back_populates="parent")
    products = relationship("Product", back_populates="category")

class Tag(Base):
    __tablename__ = "tags"
    id = Column(BigInteger, primary_key=True)
    name = Column(Text, nullable=False, unique=True)
    orders = relationship("Order", secondary=order_tags, back_populates="tags")
# END models
