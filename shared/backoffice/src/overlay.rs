//! A dry-run store: reads see the real store with this run's own writes on top; writes are
//! checked with the real conditions but kept in memory and never reach the real store. It lets
//! `busgate catalogue import --dry-run` run the real import and report exactly what it would do.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use busgate_domain::store::memory::apply_writes;
use busgate_domain::store::{validate_transaction, Item, Key, Store, StoreError, Write};

pub struct Overlay<'a> {
    base: &'a dyn Store,
    /// The new state of every key written (`None` = deleted).
    changes: Mutex<BTreeMap<Key, Option<Item>>>,
}

impl<'a> Overlay<'a> {
    pub fn new(base: &'a dyn Store) -> Self {
        Overlay { base, changes: Mutex::new(BTreeMap::new()) }
    }

    /// How many records the run would have written.
    pub fn written(&self) -> usize {
        self.changes.lock().expect("overlay lock").len()
    }

    fn changed(&self, key: &Key) -> Option<Option<Item>> {
        self.changes.lock().expect("overlay lock").get(key).cloned()
    }
}

#[async_trait]
impl Store for Overlay<'_> {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        match self.changed(key) {
            Some(v) => Ok(v),
            None => self.base.get(key).await,
        }
    }

    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut by_sk: BTreeMap<String, Item> = self.base.query(pk, sk_prefix).await?.into_iter().map(|i| (i.key.sk.clone(), i)).collect();
        for (k, v) in self.changes.lock().expect("overlay lock").iter() {
            if k.pk == pk && k.sk.starts_with(sk_prefix) {
                match v {
                    Some(item) => by_sk.insert(k.sk.clone(), item.clone()),
                    None => by_sk.remove(&k.sk),
                };
            }
        }
        Ok(by_sk.into_values().collect())
    }

    async fn query_index(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        let base = self.base.query_index(pk, sk_prefix).await?;
        let changes = self.changes.lock().expect("overlay lock");
        let mut out: Vec<Item> = base.into_iter().filter(|i| !changes.contains_key(&i.key)).collect();
        for item in changes.values().flatten() {
            if item.index.as_ref().is_some_and(|ix| ix.pk == pk && ix.sk.starts_with(sk_prefix)) {
                out.push(item.clone());
            }
        }
        out.sort_by(|a, b| {
            let ka = (a.index.as_ref().map(|i| i.sk.as_str()), &a.key);
            let kb = (b.index.as_ref().map(|i| i.sk.as_str()), &b.key);
            ka.cmp(&kb)
        });
        Ok(out)
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        validate_transaction(&writes)?;
        let mut current: HashMap<Key, Option<Item>> = HashMap::new();
        for w in &writes {
            let key = w.key().clone();
            let now = self.get(&key).await?;
            current.insert(key, now);
        }
        let next = apply_writes(&writes, |k| Ok(current.get(k).cloned().flatten()))?;
        let mut changes = self.changes.lock().expect("overlay lock");
        for (k, v) in next {
            changes.insert(k, v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use busgate_domain::store::memory::MemoryStore;
    use busgate_domain::store::Condition;

    #[tokio::test]
    async fn writes_stay_in_the_overlay() {
        let base = MemoryStore::new();
        let a = Item::new(Key::new("P", "a"), "1").with_version(1).with_index("IX", "2");
        base.transact(vec![Write::Put { item: a.clone(), condition: Condition::Absent }]).await.unwrap();
        let o = Overlay::new(&base);
        let b = Item::new(Key::new("P", "b"), "2").with_version(1).with_index("IX", "1");
        o.transact(vec![
            Write::Put { item: b.clone(), condition: Condition::Absent },
            Write::Put { item: a.clone().with_version(2), condition: Condition::Version(1) },
        ])
        .await
        .unwrap();
        assert_eq!(o.query("P", "").await.unwrap().iter().map(|i| i.version).collect::<Vec<_>>(), vec![2, 1]);
        let ix: Vec<String> = o.query_index("IX", "").await.unwrap().iter().map(|i| i.key.sk.clone()).collect();
        assert_eq!(ix, vec!["b", "a"]);
        // The real store is untouched, and conditions are the real ones.
        assert_eq!(base.query("P", "").await.unwrap().len(), 1);
        let again = o.transact(vec![Write::Put { item: b, condition: Condition::Absent }]).await;
        assert!(matches!(again, Err(StoreError::ConditionFailed { index: 0, .. })));
        assert_eq!(o.written(), 2);
    }
}
