"""SQLAlchemy 2 (ORM over PyMySQL) against a Borealis server: DDL from models (indexes,
unique and foreign keys), inserts with relationships, joins with GROUP BY, updates and
cascading deletes through the unit of work, and reflection (the information_schema
queries ORMs and migration tools run).

Usage: sqlalchemy_client.py PORT PASSWORD   (prints "sqlalchemy: all checks passed")
"""
import datetime
import decimal
import sys

from sqlalchemy import (Boolean, Column, DateTime, ForeignKey, Integer, LargeBinary,
                        Numeric, String, create_engine, func, inspect, select, text)
from sqlalchemy.orm import Session, declarative_base, relationship


def check(cond, what):
    if not cond:
        print("FAILED:", what)
        sys.exit(1)


port, password = int(sys.argv[1]), sys.argv[2]
url = "mysql+pymysql://root:%s@127.0.0.1:%d/" % (password, port)
with create_engine(url).connect() as c:
    c.execute(text("CREATE DATABASE sa"))
    c.commit()
engine = create_engine(url + "sa")
Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True, autoincrement=True)
    name = Column(String(50), nullable=False, index=True, unique=True)
    balance = Column(Numeric(10, 2), default=0)
    created = Column(DateTime, default=datetime.datetime(2024, 1, 1))
    active = Column(Boolean, default=True)
    blob = Column(LargeBinary)
    posts = relationship("Post", back_populates="user", cascade="all, delete-orphan")


class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)
    title = Column(String(100))
    user = relationship("User", back_populates="posts")


Base.metadata.create_all(engine)
with Session(engine) as s:
    ann = User(name="ann", balance=decimal.Decimal("10.50"), blob=b"\x00\xff")
    ann.posts = [Post(title="a"), Post(title="b")]
    s.add_all([ann, User(name="bob")])
    s.commit()
    got = s.scalars(select(User).where(User.name == "ann")).one()
    check([p.title for p in got.posts] == ["a", "b"], "relationship load")
    rows = s.execute(select(User.name, func.count(Post.id)).outerjoin(Post)
                     .group_by(User.name).order_by(User.name)).all()
    check([tuple(r) for r in rows] == [("ann", 2), ("bob", 0)], "join + group by: %r" % rows)
    u = s.get(User, 1)
    u.balance += 1
    s.commit()
    u = s.get(User, 1)
    check(u.balance == decimal.Decimal("11.50") and u.active is True and u.blob == b"\x00\xff"
          and u.created == datetime.datetime(2024, 1, 1), "update and defaults")
    s.delete(u)
    s.commit()
    check(s.scalar(select(func.count()).select_from(Post)) == 0, "cascade delete")

insp = inspect(engine)
check(insp.get_table_names() == ["posts", "users"], "tables")
check([c["name"] for c in insp.get_columns("users")]
      == ["id", "name", "balance", "created", "active", "blob"], "columns")
check(insp.get_pk_constraint("users")["constrained_columns"] == ["id"], "primary key")
fks = insp.get_foreign_keys("posts")
check(len(fks) == 1 and fks[0]["referred_table"] == "users"
      and fks[0]["constrained_columns"] == ["user_id"], "foreign key: %r" % fks)
idx = insp.get_indexes("users")
check([(i["name"], i["column_names"], bool(i["unique"])) for i in idx]
      == [("ix_users_name", ["name"], True)], "indexes: %r" % idx)
Base.metadata.drop_all(engine)
check(inspect(engine).get_table_names() == [], "drop_all")
print("sqlalchemy: all checks passed")
