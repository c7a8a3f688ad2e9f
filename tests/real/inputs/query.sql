-- A sqlite3 workload for tests/real: tables, indexes, joins, CTEs, JSON.
create table people(id integer primary key, name text, dept integer);
create table depts(id integer primary key, title text);
with recursive c(x) as (select 1 union all select x + 1 from c where x < 5000)
insert into people select x, 'person' || x, x % 17 from c;
with recursive c(x) as (select 0 union all select x + 1 from c where x < 16)
insert into depts select x, 'dept' || x from c;
create index people_dept on people(dept);
select d.title, count(*), sum(p.id) from people p join depts d on d.id = p.dept
  group by d.id order by d.id limit 5;
select json_group_array(name) from (select name from people where id % 1000 = 0);
select group_concat(title, '|') from depts where id < 4;
update people set name = upper(name) where id % 2 = 0;
delete from people where id % 3 = 0;
select count(*), max(length(name)) from people;
vacuum;
