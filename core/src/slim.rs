//! [`Slim`], a list that costs one pointer while empty.

/// A list that costs one pointer while it is empty (a `Vec` costs three words): most flows of
/// a big capture parse no message of a kind, take no RTT sample, quote no ICMP error, and
/// every flow holds these lists for the whole analysis (issue 13 item 2). Reads as a slice.
// The box is the point: `Option<Box<Vec>>` is one word, `Vec` three.
#[allow(clippy::box_collection)]
#[derive(Clone, PartialEq, Eq)]
pub struct Slim<T>(Option<Box<Vec<T>>>);

impl<T> Default for Slim<T> {
    fn default() -> Self {
        Slim(None)
    }
}

impl<T> Slim<T> {
    /// Appends `x`, allocating the list on the first push.
    pub fn push(&mut self, x: T) {
        self.0.get_or_insert_with(Box::default).push(x);
    }
    /// Keeps the first `n` elements (frees the list when `n` is 0).
    pub fn truncate(&mut self, n: usize) {
        match &mut self.0 {
            Some(_) if n == 0 => self.0 = None,
            Some(v) => v.truncate(n),
            None => {}
        }
    }
    /// Inserts `x` at `i` (at the end when `i` is past it).
    pub fn insert(&mut self, i: usize, x: T) {
        let v = self.0.get_or_insert_with(Box::default);
        v.insert(i.min(v.len()), x);
    }
    /// Removes the first `n` elements (all of them when there are fewer).
    pub fn drop_front(&mut self, n: usize) {
        if let Some(v) = &mut self.0 {
            v.drain(..n.min(v.len()));
            if v.is_empty() {
                self.0 = None;
            }
        }
    }
    /// Empties the list and frees it.
    pub fn clear(&mut self) {
        self.0 = None;
    }
    /// Removes and returns the element at `i`, if there is one (the list is freed when it
    /// becomes empty, so an empty list is always one `None`).
    pub fn remove(&mut self, i: usize) -> Option<T> {
        let v = self.0.as_mut()?;
        let x = (i < v.len()).then(|| v.remove(i));
        if v.is_empty() {
            self.0 = None;
        }
        x
    }
}

impl<T> std::ops::Deref for Slim<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl<T> std::ops::DerefMut for Slim<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.0 {
            Some(v) => v.as_mut_slice(),
            None => &mut [],
        }
    }
}

impl<'a, T> IntoIterator for &'a Slim<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T> IntoIterator for &'a mut Slim<T> {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

impl<T> From<Vec<T>> for Slim<T> {
    fn from(v: Vec<T>) -> Self {
        Slim((!v.is_empty()).then(|| Box::new(v)))
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Slim<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::Slim;

    #[test]
    fn reads_as_a_slice_and_an_emptied_list_equals_a_new_one() {
        let mut s: Slim<u32> = Slim::default();
        assert!(s.is_empty());
        assert_eq!(
            std::mem::size_of::<Slim<u32>>(),
            std::mem::size_of::<usize>()
        );
        for x in [3, 1, 2] {
            s.push(x);
        }
        assert_eq!(&s[..], &[3, 1, 2]);
        s.sort_unstable();
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), vec![1, 2, 3]);
        s.insert(9, 4);
        s.insert(0, 0);
        assert_eq!(s.remove(4), Some(4));
        assert_eq!(s.remove(0), Some(0));
        assert_eq!(s.remove(7), None);
        assert_eq!(s.remove(0), Some(1));
        s.push(8);
        s.drop_front(0);
        s.truncate(2);
        s.drop_front(1);
        assert_eq!(&s[..], &[3]);
        s.insert(0, 2);
        s.truncate(1);
        assert_eq!(&s[..], &[2]);
        assert_eq!(s.remove(0), Some(2));
        assert_eq!(s, Slim::default(), "empty again: no list held");
        s.push(5);
        s.truncate(0);
        assert_eq!(s, Slim::default());
        assert_eq!(Slim::from(Vec::<u32>::new()), Slim::default());
        assert_eq!(Slim::from(vec![4, 5]).to_vec(), vec![4, 5]);
        s.push(9);
        s.clear();
        assert!(s.is_empty());
        assert_eq!(format!("{:?}", Slim::from(vec![1, 2])), "[1, 2]");
    }
}
