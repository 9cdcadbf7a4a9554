-- The trading service's books: positions must equal the ledger's sum (the integrity check).
create table positions (account text primary key, symbol text not null, quantity bigint not null);
create table ledger (id bigserial primary key, account text not null, quantity bigint not null,
                     at timestamptz not null default now());
insert into positions values ('ACC-1', 'AAPL', 120), ('ACC-2', 'MSFT', 75), ('ACC-3', 'NVDA', 40);
insert into ledger (account, quantity) values ('ACC-1', 100), ('ACC-1', 20), ('ACC-2', 75), ('ACC-3', 40);
